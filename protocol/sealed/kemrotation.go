package sealed

import (
	"bytes"
	"crypto/ecdh"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// A member's per-room KEM key is rotated after each epoch it receives by a
// wrap: it announces a fresh key in a sealed.keys envelope (sealed and
// write-signed like a message, so only a member can write one, and only
// for itself: the AAD names the author), the owner wraps later epochs to
// it, and the member drops the older keys once an epoch's state lists the
// new one. Ciphertext a relay recorded then cannot be opened with a key
// stolen from the member's device later, unless the member still keeps the
// epoch secrets themselves (docs/private-rooms.md, Forward secrecy).
//
// The plaintext of a sealed.keys envelope is version(1) ‖ KEM public key(32).

// KeysPlaintext returns the plaintext announcing kemPub.
func KeysPlaintext(kemPub []byte) []byte { return append([]byte{Version}, kemPub...) }

func parseKeys(pt []byte) ([]byte, error) {
	if len(pt) != 1+KEMKeySize || pt[0] != Version {
		return nil, fmt.Errorf("%w: key announcement of %d bytes", ErrMalformed, len(pt))
	}
	if _, err := ecdh.X25519().NewPublicKey(pt[1:]); err != nil {
		return nil, fmt.Errorf("%w: announced KEM key: %w", ErrMalformed, err)
	}
	return bytes.Clone(pt[1:]), nil
}

// RotateKEM draws a new KEM key, puts it first among the keys self finds
// wraps for, and returns it with the plaintext of the sealed.keys
// envelope that announces it. The older keys stay until an epoch's state
// lists the new one: until the owner has read the announcement, wraps
// still go to them.
func (k *Keyring) RotateKEM() (*ecdh.PrivateKey, []byte, error) {
	kem, err := NewKEMKey()
	if err != nil {
		return nil, nil, err
	}
	k.kems = append([]*ecdh.PrivateKey{kem}, k.kems...)
	return kem, KeysPlaintext(kem.PublicKey().Bytes()), nil
}

// NoteKEM records, at the owner, the key a member announced in a
// sealed.keys envelope e whose plaintext (as Open returned it) is pt. The
// next epoch change lists it and wraps to it.
func (k *Keyring) NoteKEM(e *protocol.Envelope, pt []byte) error {
	if e.Kind != protocol.KindSealedKeys {
		return fmt.Errorf("%w: %q is not a key announcement", protocol.ErrKind, e.Kind)
	}
	pub, err := parseKeys(pt)
	if err != nil {
		return err
	}
	if !k.isMember(e.Author) {
		return fmt.Errorf("%w: %s is not a member", ErrNotAllowed, e.Author)
	}
	k.noteKEM(e.Author, pub)
	return nil
}

// RestoreKEM records an announced key read back from disk.
func (k *Keyring) RestoreKEM(member peer.ID, pub []byte) { k.noteKEM(member, pub) }

func (k *Keyring) noteKEM(member peer.ID, pub []byte) {
	if k.announced == nil {
		k.announced = map[peer.ID][]byte{}
	}
	k.announced[member] = pub
}

// Announced returns the keys members announced that no epoch lists yet.
func (k *Keyring) Announced() map[peer.ID][]byte { return k.announced }

// nextState returns a copy of s for the next epoch, with the members'
// announced keys in place of their old ones.
func (k *Keyring) nextState(s *State) *State {
	next := cloneState(s)
	for i, m := range next.Members {
		if pub, ok := k.announced[m.Peer]; ok {
			next.Members[i].KEM = pub
		}
	}
	return next
}

// pruneKEMs drops the KEM keys older than the one state lists for self:
// every later wrap goes to that one or a newer one.
func (k *Keyring) pruneKEMs(state *State) {
	for _, m := range state.Members {
		if m.Peer != k.self {
			continue
		}
		for i, kem := range k.kems {
			if bytes.Equal(kem.PublicKey().Bytes(), m.KEM) {
				k.kems = k.kems[:i+1]
				return
			}
		}
	}
}

// isMember reports whether p is a member at the head: listed in its state,
// or for a direct room still on its genesis, one of the two parties.
func (k *Keyring) isMember(p peer.ID) bool {
	if s, ok := k.State(); ok {
		return s.HasMember(p)
	}
	if k.chain.dm {
		g := k.chain.epochs[k.chain.byNumber[0]]
		return p == g.Parties[0] || p == g.Parties[1]
	}
	return false
}
