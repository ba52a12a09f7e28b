package sealed

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
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
	Peer peer.ID `json:"peer"`
	KEM  []byte  `json:"kem"`
}

// Removal records a member removed by an epoch change and the Lamport
// clock after which its messages in older epochs are no longer accepted:
// a removed member still holds the old keys and could backdate.
type Removal struct {
	Peer   peer.ID `json:"peer"`
	Cutoff uint64  `json:"cutoff"`
}

// State is the room state each epoch carries encrypted, readable by
// members only: relays never learn the display name or the member list.
// It is JSON inside the AEAD; unknown fields are ignored, so later
// versions may add some.
type State struct {
	Name    string    `json:"name"`
	History History   `json:"history"`
	Members []Member  `json:"members"`
	Removed []Removal `json:"removed,omitempty"`
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
	pt, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode room state: %w", err)
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
	var s State
	if err := json.Unmarshal(pt, &s); err != nil {
		return nil, fmt.Errorf("%w: state: %w", ErrForgedEpoch, err)
	}
	return &s, nil
}
