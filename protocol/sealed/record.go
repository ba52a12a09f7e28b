package sealed

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Reason says why an epoch began.
type Reason byte

// Reasons of epoch changes.
const (
	// ReasonGenesis starts an owned room: the record carries the salt
	// whose hash with the owner's peer ID is the room's name.
	ReasonGenesis Reason = 1
	// ReasonAdd ratchets the secret forward and wraps the result to the
	// joiners only.
	ReasonAdd Reason = 2
	// ReasonRemove draws a fresh secret and wraps it to every remaining
	// member.
	ReasonRemove Reason = 3
	// ReasonRotate draws a fresh secret as a removal does, removing no
	// one.
	ReasonRotate Reason = 4
	// ReasonDM starts a direct room: the record carries both parties and
	// the salt derived from their shared secret.
	ReasonDM Reason = 5
)

func (r Reason) String() string {
	switch r {
	case ReasonGenesis:
		return "genesis"
	case ReasonAdd:
		return "add"
	case ReasonRemove:
		return "remove"
	case ReasonRotate:
		return "rotate"
	case ReasonDM:
		return "dm"
	}
	return fmt.Sprintf("reason(%d)", byte(r))
}

// KIDSize is the size of a wrap's key ID: the first bytes of SHA-256 of
// the member's KEM public key, so a member finds its wrap without trying
// every one.
const KIDSize = 8

// RatchetSize is the size of an add's public ratchet value.
const RatchetSize = 16

// Limits that bound what a decoder allocates or walks.
const (
	maxPeerIDLen = 64
	maxWrapLen   = 1 << 15
	maxStateLen  = 1 << 16
)

// Wrap is an epoch secret HPKE-sealed to one member's KEM key.
type Wrap struct {
	KID        [KIDSize]byte
	Ciphertext []byte
}

// Record is the body of a sealed.epoch envelope. Its clear part is what
// relays check with no key: number, ID, parent, write key, reason and, for
// a genesis, what binds the room's name to its owner. Wraps hand the
// epoch's secret to members; State is the room state (members, display
// name, history policy, removals), encrypted under the epoch's state key.
//
//	version(1) ‖ reason(1) ‖ uvarint(number) ‖ epochID(16) ‖ parent(16) ‖ writePub(32)
//	‖ genesis: salt(32) | dm: salt(32) ‖ str(partyA) ‖ str(partyB) | add: ratchet(16)
//	‖ uvarint(#wraps) ‖ { kid(8) ‖ str(hpke ciphertext) }*
//	‖ str(state: nonce(24) ‖ ciphertext, or empty)
type Record struct {
	Reason   Reason
	Number   uint64
	ID       EpochID
	Parent   EpochID // zero for epoch 0
	WritePub ed25519.PublicKey
	Salt     []byte     // genesis and dm
	Parties  [2]peer.ID // dm, sorted
	Ratchet  []byte     // add
	Wraps    []Wrap
	State    []byte
}

// Encode returns the record's layout. It refuses a record that
// DecodeRecord would refuse, so that a node never publishes one.
func (r *Record) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b := []byte{Version, byte(r.Reason)}
	b = binary.AppendUvarint(b, r.Number)
	b = append(b, r.ID[:]...)
	b = append(b, r.Parent[:]...)
	b = append(b, r.WritePub...)
	switch r.Reason {
	case ReasonGenesis:
		b = append(b, r.Salt...)
	case ReasonDM:
		b = append(b, r.Salt...)
		b = appendField(b, []byte(r.Parties[0]))
		b = appendField(b, []byte(r.Parties[1]))
	case ReasonAdd:
		b = append(b, r.Ratchet...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Wraps)))
	for _, w := range r.Wraps {
		b = append(b, w.KID[:]...)
		b = appendField(b, w.Ciphertext)
	}
	return appendField(b, r.State), nil
}

// DecodeRecord reads a sealed.epoch body. It checks the layout and the
// rules a record obeys on its own (epoch 0 is a genesis or dm with no
// parent, later epochs are add, remove or rotate); Chain checks how it
// fits the room.
func DecodeRecord(body []byte) (*Record, error) {
	rd := reader{buf: body}
	if v := rd.byte(); rd.err == nil && v != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	r := &Record{Reason: Reason(rd.byte())}
	r.Number = rd.uvarint()
	copy(r.ID[:], rd.bytes(EpochIDSize))
	copy(r.Parent[:], rd.bytes(EpochIDSize))
	if w := rd.bytes(ed25519.PublicKeySize); w != nil {
		r.WritePub = ed25519.PublicKey(bytes.Clone(w))
	}
	switch r.Reason {
	case ReasonGenesis:
		r.Salt = rd.bytes(SaltSize)
	case ReasonDM:
		r.Salt = rd.bytes(SaltSize)
		r.Parties[0] = peer.ID(rd.field(maxPeerIDLen))
		r.Parties[1] = peer.ID(rd.field(maxPeerIDLen))
	case ReasonAdd:
		r.Ratchet = rd.bytes(RatchetSize)
	}
	n := rd.count(KIDSize + 1)
	for i := 0; i < n && rd.err == nil; i++ {
		var w Wrap
		copy(w.KID[:], rd.bytes(KIDSize))
		w.Ciphertext = rd.field(maxWrapLen)
		r.Wraps = append(r.Wraps, w)
	}
	r.State = rd.field(maxStateLen)
	if err := rd.done(); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return r, nil
}

// check applies the rules a record obeys on its own.
func (r *Record) check() error {
	if len(r.WritePub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: write key of %d bytes", ErrMalformed, len(r.WritePub))
	}
	genesis := r.Reason == ReasonGenesis || r.Reason == ReasonDM
	switch r.Reason {
	case ReasonGenesis, ReasonDM, ReasonAdd, ReasonRemove, ReasonRotate:
	default:
		return fmt.Errorf("%w: %s", ErrMalformed, r.Reason)
	}
	if genesis != (r.Number == 0) {
		return fmt.Errorf("%w: %s record of epoch %d", ErrEpochNumber, r.Reason, r.Number)
	}
	if genesis && r.Parent != (EpochID{}) {
		return fmt.Errorf("%w: epoch 0 with a parent", ErrMalformed)
	}
	if genesis && len(r.Salt) != SaltSize {
		return fmt.Errorf("%w: salt of %d bytes", ErrMalformed, len(r.Salt))
	}
	if r.Reason == ReasonAdd && len(r.Ratchet) != RatchetSize {
		return fmt.Errorf("%w: ratchet of %d bytes", ErrMalformed, len(r.Ratchet))
	}
	if r.Reason == ReasonDM {
		a, b := r.Parties[0], r.Parties[1]
		if a == "" || b == "" || a >= b || len(a) > maxPeerIDLen || len(b) > maxPeerIDLen {
			return fmt.Errorf("%w: direct room parties must be two distinct peer IDs in order", ErrMalformed)
		}
	}
	for _, w := range r.Wraps {
		if len(w.Ciphertext) == 0 || len(w.Ciphertext) > maxWrapLen {
			return fmt.Errorf("%w: wrap of %d bytes", ErrMalformed, len(w.Ciphertext))
		}
	}
	if len(r.State) > maxStateLen {
		return fmt.Errorf("%w: state of %d bytes", ErrMalformed, len(r.State))
	}
	return nil
}
