package sealed

import (
	"crypto/ecdh"
	"crypto/subtle"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// Keyring is what one member holds of one private room: the chain of
// epochs, the keys of the epochs it held, its KEM keys, and the cutoffs of
// removed members. It adopts a secret only from an epoch the chain
// admitted (owner-written, chained, numbered) and only when the secret
// derives the epoch ID and write key the record publishes, so no member
// adopts a key from a forged epoch. It is not safe for concurrent use.
type Keyring struct {
	chain   *Chain
	self    peer.ID
	kems    []*ecdh.PrivateKey
	held    map[EpochID]*EpochKeys
	states  map[EpochID]*State
	known   map[EpochID][SecretSize]byte // secrets learned before their epoch was admitted
	cutoffs map[peer.ID][]cutoff
	// announced holds, at the owner, the KEM keys members announced
	// (sealed.keys) that no epoch lists yet.
	announced map[peer.ID][]byte
}

// cutoff is one removal of a member: from epoch number on it holds no key,
// and its messages in earlier epochs count only up to lamport.
type cutoff struct {
	number  uint64
	lamport uint64
}

// NewKeyring returns the empty keyring of self in room, with the KEM keys
// self may find wraps for (its current one first).
func NewKeyring(room string, self peer.ID, kems ...*ecdh.PrivateKey) *Keyring {
	return &Keyring{
		chain:   NewChain(room),
		self:    self,
		kems:    kems,
		held:    map[EpochID]*EpochKeys{},
		states:  map[EpochID]*State{},
		known:   map[EpochID][SecretSize]byte{},
		cutoffs: map[peer.ID][]cutoff{},
	}
}

// Chain returns the keyring's chain.
func (k *Keyring) Chain() *Chain { return k.chain }

// Room returns the room's name.
func (k *Keyring) Room() string { return k.chain.room }

// AddKEM adds a KEM key self may find wraps for.
func (k *Keyring) AddKEM(key *ecdh.PrivateKey) { k.kems = append(k.kems, key) }

// Learn records the secret of an epoch that may not be admitted yet: an
// owner's own new epoch, a direct room's genesis, an earlier epoch handed
// to a joiner of a shared-history room, or a held secret restored from
// disk. It is adopted when its epoch is admitted and matches.
func (k *Keyring) Learn(secret [SecretSize]byte) EpochID {
	id := DeriveEpoch(k.chain.room, 0, secret).ID
	k.known[id] = secret
	return id
}

// Learned returns the secret of epoch id learned but not adopted yet: an
// owner's node stores it durably before it publishes the epoch, so that a
// crash between the two cannot leave the owner locked out of its room.
func (k *Keyring) Learned(id EpochID) ([SecretSize]byte, bool) {
	s, ok := k.known[id]
	return s, ok
}

// KEMs returns the KEM keys self finds wraps for.
func (k *Keyring) KEMs() []*ecdh.PrivateKey { return k.kems }

// Held returns the keys of epoch id, if self held it.
func (k *Keyring) Held(id EpochID) (*EpochKeys, bool) {
	keys, ok := k.held[id]
	return keys, ok
}

// Secrets returns the secrets of every epoch held, for the node to store.
func (k *Keyring) Secrets() [][SecretSize]byte {
	out := make([][SecretSize]byte, 0, len(k.held))
	for _, keys := range k.held {
		out = append(out, keys.Secret)
	}
	return out
}

// State returns the room state of the head epoch, if held.
func (k *Keyring) State() (*State, bool) {
	h := k.chain.head
	if h == nil {
		return nil, false
	}
	s, ok := k.states[h.ID]
	return s, ok
}

// HeadKeys returns the keys of the head epoch, if held: the epoch a member
// writes in.
func (k *Keyring) HeadKeys() (*EpochKeys, bool) {
	h := k.chain.head
	if h == nil {
		return nil, false
	}
	return k.Held(h.ID)
}

// Adoption says what admitting an epoch change gave self.
type Adoption struct {
	Record *Record
	Fresh  bool // the chain had not seen this epoch
	Held   bool // self holds the epoch's keys
	// Wrapped is set when the secret came from a wrap to one of self's
	// KEM keys: the moment to rotate that key (RotateKEM).
	Wrapped bool
}

// AdmitEpoch admits a sealed.epoch envelope into the chain and adopts its
// secret if self can obtain it: a secret learned before, a wrap addressed
// to one of self's KEM keys, or for an add the ratchet of a held parent.
// An error from the chain is returned as is; a record whose secret does
// not derive its published ID and write key, or whose state does not open,
// is ErrForgedEpoch and adopts nothing (the chain still holds the record,
// since relays judge it by its public part alone).
func (k *Keyring) AdmitEpoch(e *protocol.Envelope) (Adoption, error) {
	r, fresh, err := k.chain.AdmitEpoch(e)
	if err != nil {
		return Adoption{}, err
	}
	a := Adoption{Record: r, Fresh: fresh}
	if _, ok := k.held[r.ID]; ok {
		a.Held = true
		return a, nil
	}
	secret, history, wrapped, ok, err := k.secretOf(r)
	if err != nil || !ok {
		return a, err
	}
	keys := DeriveEpoch(k.chain.room, r.Number, secret)
	if err := k.adopt(r, keys); err != nil {
		return a, err
	}
	for _, h := range history {
		k.Learn(h.Secret)
	}
	k.adoptKnownEarlier()
	a.Held, a.Wrapped = true, wrapped
	return a, nil
}

// adopt installs the keys of admitted epoch r, which derive its
// published ID and write key, after opening its state (ErrForgedEpoch
// when it does not open) and recording the removals it lists.
func (k *Keyring) adopt(r *Record, keys *EpochKeys) error {
	if keys.ID != r.ID || subtle.ConstantTimeCompare(keys.WritePub, r.WritePub) != 1 {
		return fmt.Errorf("%w: epoch %d", ErrForgedEpoch, r.Number)
	}
	if len(r.State) > 0 {
		state, err := openState(keys, r.State)
		if err != nil {
			return err
		}
		k.states[r.ID] = state
		if r.ID == k.chain.head.ID {
			k.pruneKEMs(state)
		}
		for _, rm := range state.Removed {
			k.cutoffs[rm.Peer] = append(k.cutoffs[rm.Peer], cutoff{number: r.Number, lamport: rm.Cutoff})
		}
	}
	k.held[r.ID] = keys
	delete(k.known, r.ID)
	return nil
}

// adoptKnownEarlier adopts learned secrets of epochs already admitted (a
// shared-history joiner learns them after the chain saw their records).
// A secret that does not match its epoch is dropped.
func (k *Keyring) adoptKnownEarlier() {
	for id, secret := range k.known {
		r, ok := k.chain.epochs[id]
		if !ok {
			continue
		}
		if err := k.adopt(r, DeriveEpoch(k.chain.room, r.Number, secret)); err != nil {
			delete(k.known, id)
		}
	}
}

// secretOf finds the secret of r that self can obtain, if any, and says
// whether it came from a wrap.
func (k *Keyring) secretOf(r *Record) (s [SecretSize]byte, hist []HistorySecret, wrapped, ok bool, err error) {
	if s, ok := k.known[r.ID]; ok {
		return s, nil, false, true, nil
	}
	s, hist, ok, err = openWrap(k.chain.room, r, k.kems)
	if err != nil || ok {
		return s, hist, ok, ok, err
	}
	if r.Reason == ReasonAdd {
		if parent, ok := k.held[r.Parent]; ok {
			return AddSecret(k.chain.room, parent.Secret, r.Ratchet), nil, false, true, nil
		}
	}
	return s, nil, false, false, nil
}

// Seal seals plaintext in the head epoch for an envelope with header h,
// whose author must be self. It is ErrNoKey when self does not hold the
// head epoch (it was removed, or has not been let in yet).
func (k *Keyring) Seal(h Header, plaintext []byte) ([]byte, error) {
	keys, ok := k.HeadKeys()
	if !ok {
		return nil, fmt.Errorf("%w: head epoch of %s not held", ErrNoKey, k.chain.room)
	}
	if h.Author != k.self {
		return nil, fmt.Errorf("sealing for author %s in the keyring of %s", h.Author, k.self)
	}
	return Seal(keys, h, plaintext)
}

// Open opens a sealed envelope (not an epoch or join). It is
// ErrUnknownEpoch when the epoch is not admitted yet, ErrNoKey when self
// did not hold it, ErrAfterCutoff when the author was removed since and
// wrote after its cutoff, and ErrWriteSignature or ErrOpen for a body that
// is not what a member of its epoch wrote.
func (k *Keyring) Open(e *protocol.Envelope) ([]byte, *Record, error) {
	r, err := k.chain.CheckWrite(e)
	if err != nil {
		return nil, nil, err
	}
	keys, ok := k.held[r.ID]
	if !ok {
		return nil, r, fmt.Errorf("%w: epoch %d of %s", ErrNoKey, r.Number, k.chain.room)
	}
	for _, c := range k.cutoffs[e.Author] {
		if r.Number < c.number && e.Lamport > c.lamport {
			return nil, r, fmt.Errorf("%w: %s at Lamport %d, cutoff %d", ErrAfterCutoff, e.Author, e.Lamport, c.lamport)
		}
	}
	pt, err := Open(keys, HeaderOf(e), e.Body)
	return pt, r, err
}
