package sealed

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/crypto/chacha20poly1305"
)

// History is a room's policy on what a joiner may read.
type History string

const (
	// HistoryFromJoin: a joiner reads from the epoch of its join on
	// (the default).
	HistoryFromJoin History = "from-join"
	// HistoryShared: a joiner is handed every earlier epoch secret and
	// reads the whole history.
	HistoryShared History = "shared"
)

// Member is one member of a private room as the owner lists it: its peer
// ID and the KEM public key the owner wraps new secrets to.
type Member struct {
	Peer peer.ID
	KEM  []byte
}

// Removal records a member removed by an epoch change and the Lamport
// clock after which its messages in older epochs are no longer accepted:
// a removed member still holds the old keys and could backdate.
type Removal struct {
	Peer   peer.ID
	Cutoff uint64
}

// State is the room state each epoch carries encrypted, readable by
// members only: relays never learn the display name or the member list.
// Inside the AEAD it is laid out as
//
//	str(name ≤ 256) ‖ history(1: 0 from-join, 1 shared)
//	‖ uvarint(#members) ‖ { str(peer) ‖ kem(32) }*
//	‖ uvarint(#removed) ‖ { str(peer) ‖ uvarint(cutoff) }*
//
// Binary rather than JSON because it is most of a removal's size: 71
// bytes a member instead of about 120.
type State struct {
	Name    string
	History History
	Members []Member
	Removed []Removal
}

// MaxNameLen bounds a room's display name, in bytes.
const MaxNameLen = 256

func (s *State) encode() ([]byte, error) {
	if len(s.Name) > MaxNameLen {
		return nil, fmt.Errorf("%w: display name of %d bytes", ErrNotAllowed, len(s.Name))
	}
	b := appendStr(nil, s.Name)
	switch s.History {
	case HistoryFromJoin:
		b = append(b, 0)
	case HistoryShared:
		b = append(b, 1)
	default:
		return nil, fmt.Errorf("%w: history policy %q", ErrNotAllowed, s.History)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Members)))
	for _, m := range s.Members {
		if len(m.KEM) != KEMKeySize || len(m.Peer) == 0 || len(m.Peer) > maxPeerIDLen {
			return nil, fmt.Errorf("%w: member %s", ErrNotAllowed, m.Peer)
		}
		b = appendStr(b, string(m.Peer))
		b = append(b, m.KEM...)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Removed)))
	for _, r := range s.Removed {
		b = appendStr(b, string(r.Peer))
		b = binary.AppendUvarint(b, r.Cutoff)
	}
	return b, nil
}

func decodeState(b []byte) (*State, error) {
	r := reader{buf: b}
	s := &State{Name: string(r.field(MaxNameLen))}
	switch r.byte() {
	case 0:
		s.History = HistoryFromJoin
	case 1:
		s.History = HistoryShared
	default:
		r.fail("history policy")
	}
	n := r.count(2 + KEMKeySize)
	for i := 0; i < n && r.err == nil; i++ {
		m := Member{Peer: peer.ID(r.field(maxPeerIDLen))}
		m.KEM = append([]byte(nil), r.bytes(KEMKeySize)...)
		s.Members = append(s.Members, m)
	}
	n = r.count(3)
	for i := 0; i < n && r.err == nil; i++ {
		rm := Removal{Peer: peer.ID(r.field(maxPeerIDLen))}
		rm.Cutoff = r.uvarint()
		s.Removed = append(s.Removed, rm)
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return s, nil
}

// HasMember reports whether p is listed as a member.
func (s *State) HasMember(p peer.ID) bool {
	for _, m := range s.Members {
		if m.Peer == p {
			return true
		}
	}
	return false
}

// stateAAD binds an encrypted state to its room, epoch and number.
func stateAAD(room string, id EpochID, number uint64) []byte {
	b := appendStr([]byte(infoState), room)
	b = append(b, id[:]...)
	return binary.AppendUvarint(b, number)
}

// sealState encrypts s under k's state key: nonce(24) ‖ ciphertext.
func sealState(k *EpochKeys, s *State) ([]byte, error) {
	pt, err := s.encode()
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(k.State[:])
	if err != nil {
		return nil, fmt.Errorf("state cipher: %w", err)
	}
	out := make([]byte, NonceSize, NonceSize+len(pt)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("draw nonce: %w", err)
	}
	return aead.Seal(out, out[:NonceSize], pt, stateAAD(k.Room, k.ID, k.Number)), nil
}

// openState decrypts a state sealed by sealState.
func openState(k *EpochKeys, b []byte) (*State, error) {
	if len(b) < NonceSize+tagSize {
		return nil, fmt.Errorf("%w: state of %d bytes", ErrForgedEpoch, len(b))
	}
	aead, err := chacha20poly1305.NewX(k.State[:])
	if err != nil {
		return nil, fmt.Errorf("state cipher: %w", err)
	}
	pt, err := aead.Open(nil, b[:NonceSize], b[NonceSize:], stateAAD(k.Room, k.ID, k.Number))
	if err != nil {
		return nil, fmt.Errorf("%w: state does not open: %w", ErrForgedEpoch, err)
	}
	s, err := decodeState(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: state: %w", ErrForgedEpoch, err)
	}
	return s, nil
}
