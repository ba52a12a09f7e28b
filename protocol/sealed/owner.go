package sealed

import (
	"cmp"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrNotAllowed refuses an owner operation self may not perform: it is
// not the owner, does not hold the head epoch, or names a member wrongly.
var ErrNotAllowed = errors.New("epoch change not allowed")

// CreateRoom creates a private room owned by owner, whose KEM key for the
// room is kem. It draws the salt and the genesis secret, and returns the
// owner's keyring and the body of the genesis sealed.epoch; the node signs
// that body as owner and admits the envelope with AdmitEpoch like any
// other, so the owner's own epochs take the same path as everyone's. The
// genesis wraps its secret to the owner itself, so that another replica
// of the owner (or a backup that kept kem) recovers it from any relay.
func CreateRoom(owner peer.ID, kem *ecdh.PrivateKey, name string, history History) (*Keyring, []byte, error) {
	if history != HistoryFromJoin && history != HistoryShared {
		return nil, nil, fmt.Errorf("%w: history policy %q", ErrNotAllowed, history)
	}
	salt, err := random(SaltSize)
	if err != nil {
		return nil, nil, err
	}
	room := RoomName(owner, salt)
	k := NewKeyring(room, owner, kem)
	secret, err := randomSecret()
	if err != nil {
		return nil, nil, err
	}
	state := &State{Name: name, History: history, Members: []Member{{Peer: owner, KEM: kem.PublicKey().Bytes()}}}
	body, err := k.build(&Record{Reason: ReasonGenesis, Salt: salt}, secret, state, state.Members, nil)
	if err != nil {
		return nil, nil, err
	}
	return k, body, nil
}

// Add returns the body of an epoch change that lets joiners in: the
// secret ratchets forward from the head's, so members need no wrap and the
// joiners, wrapped only the result, cannot read earlier epochs, unless the
// room shares its history, in which case their wraps carry every earlier
// secret too.
func (k *Keyring) Add(joiners ...Member) ([]byte, error) {
	head, state, err := k.ownerHead()
	if err != nil {
		return nil, err
	}
	if k.chain.dm {
		return nil, fmt.Errorf("%w: nobody joins a direct room", ErrNotAllowed)
	}
	next := k.nextState(state)
	for _, j := range joiners {
		if next.HasMember(j.Peer) {
			return nil, fmt.Errorf("%w: %s is already a member", ErrNotAllowed, j.Peer)
		}
		if len(j.KEM) != KEMKeySize {
			return nil, fmt.Errorf("%w: KEM key of %d bytes for %s", ErrNotAllowed, len(j.KEM), j.Peer)
		}
		next.Members = append(next.Members, j)
	}
	ratchet, err := random(RatchetSize)
	if err != nil {
		return nil, err
	}
	var history []HistorySecret
	if state.History == HistoryShared {
		history = k.heldHistory()
	}
	secret := AddSecret(k.chain.room, head.Secret, ratchet)
	return k.build(&Record{Reason: ReasonAdd, Ratchet: ratchet}, secret, next, joiners, history)
}

// Remove returns the body of an epoch change that removes members: a fresh
// random secret wrapped to every remaining member (the owner included),
// with each removed member's Lamport cutoff in the encrypted state.
func (k *Keyring) Remove(removed ...Removal) ([]byte, error) {
	_, state, err := k.ownerHead()
	if err != nil {
		return nil, err
	}
	if k.chain.dm {
		return nil, fmt.Errorf("%w: nobody is removed from a direct room", ErrNotAllowed)
	}
	next := k.nextState(state)
	for _, r := range removed {
		if r.Peer == k.self {
			return nil, fmt.Errorf("%w: the owner cannot remove itself", ErrNotAllowed)
		}
		i := slices.IndexFunc(next.Members, func(m Member) bool { return m.Peer == r.Peer })
		if i < 0 {
			return nil, fmt.Errorf("%w: %s is not a member", ErrNotAllowed, r.Peer)
		}
		next.Members = slices.Delete(next.Members, i, i+1)
	}
	next.Removed = slices.Clone(removed)
	return k.fresh(ReasonRemove, next)
}

// Rotate returns the body of an epoch change that draws a fresh secret for
// the same members: what a removal costs, removing no one.
func (k *Keyring) Rotate() ([]byte, error) {
	_, state, err := k.ownerHead()
	if err != nil {
		return nil, err
	}
	return k.fresh(ReasonRotate, k.nextState(state))
}

// fresh builds a remove or rotate record for state's members.
func (k *Keyring) fresh(reason Reason, state *State) ([]byte, error) {
	secret, err := randomSecret()
	if err != nil {
		return nil, err
	}
	return k.build(&Record{Reason: reason}, secret, state, state.Members, nil)
}

// ownerHead returns the head epoch's keys and state, which self must hold
// as the owner.
func (k *Keyring) ownerHead() (*EpochKeys, *State, error) {
	if k.chain.owner != k.self {
		return nil, nil, fmt.Errorf("%w: %s does not own %s", ErrNotAllowed, k.self, k.chain.room)
	}
	keys, ok := k.HeadKeys()
	if !ok {
		return nil, nil, fmt.Errorf("%w: head epoch of %s not held", ErrNotAllowed, k.chain.room)
	}
	state, ok := k.State()
	if !ok && k.chain.dm {
		state, err := k.dmState()
		return keys, state, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("%w: head epoch of %s not held", ErrNotAllowed, k.chain.room)
	}
	return keys, state, nil
}

// dmState is the state of a direct room whose genesis carries none: its
// two parties, with the KEM keys they announced. The lower peer ID, the
// direct room's owner, rekeys it with a fresh secret as soon as the other
// has announced one, so that the room stops depending on the static
// identity key agreement of its genesis.
func (k *Keyring) dmState() (*State, error) {
	g := k.chain.epochs[k.chain.byNumber[0]]
	s := &State{History: HistoryShared}
	for _, p := range g.Parties {
		var pub []byte
		if p == k.self {
			pub = k.kems[0].PublicKey().Bytes()
		} else if pub = k.announced[p]; pub == nil {
			return nil, fmt.Errorf("%w: %s has announced no KEM key in %s yet", ErrNotAllowed, p, k.chain.room)
		}
		s.Members = append(s.Members, Member{Peer: p, KEM: pub})
	}
	return s, nil
}

// build completes r as the epoch after the head (or the genesis), with
// wraps of secret (and history) to recipients and state sealed under the
// new keys, learns its secret, and returns its encoding. The caller must
// admit the signed envelope before building the next, or the two would
// fork.
func (k *Keyring) build(r *Record, secret [SecretSize]byte, state *State, recipients []Member, history []HistorySecret) ([]byte, error) {
	if head := k.chain.head; head != nil {
		r.Number, r.Parent = head.Number+1, head.ID
	}
	keys := DeriveEpoch(k.chain.room, r.Number, secret)
	r.ID, r.WritePub = keys.ID, keys.WritePub
	for _, m := range recipients {
		w, err := sealWrap(k.chain.room, keys.ID, m.KEM, secret, history)
		if err != nil {
			return nil, fmt.Errorf("wrap for %s: %w", m.Peer, err)
		}
		r.Wraps = append(r.Wraps, w)
	}
	var err error
	if r.State, err = sealState(keys, state); err != nil {
		return nil, err
	}
	body, err := r.Encode()
	if err != nil {
		return nil, err
	}
	k.Learn(secret)
	k.announced = nil // listed by the epoch just built
	return body, nil
}

// heldHistory returns every held secret, in epoch order.
func (k *Keyring) heldHistory() []HistorySecret {
	out := make([]HistorySecret, 0, len(k.held))
	for _, keys := range k.held {
		out = append(out, HistorySecret{Number: keys.Number, Secret: keys.Secret})
	}
	slices.SortFunc(out, func(a, b HistorySecret) int { return cmp.Compare(a.Number, b.Number) })
	return out
}

func cloneState(s *State) *State {
	return &State{Name: s.Name, History: s.History, Members: slices.Clone(s.Members)}
}

func random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("draw %d random bytes: %w", n, err)
	}
	return b, nil
}

func randomSecret() ([SecretSize]byte, error) {
	var s [SecretSize]byte
	if _, err := rand.Read(s[:]); err != nil {
		return s, fmt.Errorf("draw epoch secret: %w", err)
	}
	return s, nil
}
