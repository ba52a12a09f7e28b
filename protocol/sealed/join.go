package sealed

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// MaxJoinNameLen bounds the display name a join request carries, in bytes.
const MaxJoinNameLen = 256

const joinHeaderSize = 1 + 16

// JoinRequest is what a joiner tells the owner: who it is (the outer
// author), the KEM key to wrap the room's secret to, and its display name.
type JoinRequest struct {
	Peer     peer.ID
	InviteID [16]byte
	KEM      []byte
	Name     string
}

// NewJoin returns the body of a sealed.join envelope that self sends with
// inv, asking to be let in with KEM key kemPub under display name name:
//
//	version(1) ‖ inviteID(16) ‖ HPKE(ownerKEM, info, mac(32) ‖ kem(32) ‖ name)
//	info = "peerchat/v1/join" ‖ str(room) ‖ str(author) ‖ inviteID
//	mac  = HMAC-SHA256(code, "peerchat/v1/join" ‖ str(room) ‖ str(author) ‖ kem)
//
// The HPKE info binds the request to its author, so a copy re-signed by
// someone else does not open; the MAC proves the joiner holds the code,
// not just the room's name.
func NewJoin(inv *Invite, self peer.ID, kemPub []byte, name string) ([]byte, error) {
	if len(kemPub) != KEMKeySize || len(name) > MaxJoinNameLen || !utf8.ValidString(name) {
		return nil, fmt.Errorf("%w: KEM key of %d bytes or name of %d bytes", ErrJoin, len(kemPub), len(name))
	}
	id := inv.ID()
	pt := joinMAC(inv.Code, inv.Room, self, kemPub)
	pt = append(pt, kemPub...)
	pt = append(pt, name...)
	ct, err := hpkeSeal(inv.OwnerKEM, joinInfo(inv.Room, self, id), pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJoin, err)
	}
	out := append([]byte{Version}, id[:]...)
	return append(out, ct...), nil
}

// ParseJoinID reads the invite ID of a join request body without any key.
func ParseJoinID(body []byte) ([16]byte, error) {
	var id [16]byte
	// 32 encapsulated key + 64 MAC and KEM + 16 tag.
	if len(body) < joinHeaderSize+32+64+16 {
		return id, fmt.Errorf("%w: join request of %d bytes", ErrMalformed, len(body))
	}
	if body[0] != Version {
		return id, fmt.Errorf("%w: %d", ErrVersion, body[0])
	}
	copy(id[:], body[1:])
	return id, nil
}

// OpenJoin opens a sealed.join envelope made with inv, with the owner's
// KEM key, and checks its MAC. The caller has looked up inv by the
// request's invite ID and checked that it is neither revoked nor expired.
func OpenJoin(inv *Invite, ownerKEM *ecdh.PrivateKey, e *protocol.Envelope) (*JoinRequest, error) {
	if e.Kind != protocol.KindSealedJoin || e.Room != inv.Room {
		return nil, fmt.Errorf("%w: %q in %q", ErrJoin, e.Kind, e.Room)
	}
	id, err := ParseJoinID(e.Body)
	if err != nil {
		return nil, err
	}
	if id != inv.ID() {
		return nil, fmt.Errorf("%w: made with another invite", ErrJoin)
	}
	pt, err := hpkeOpen(ownerKEM, joinInfo(inv.Room, e.Author, id), e.Body[joinHeaderSize:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJoin, err)
	}
	if len(pt) < 32+KEMKeySize || len(pt) > 32+KEMKeySize+MaxJoinNameLen {
		return nil, fmt.Errorf("%w: request of %d bytes", ErrJoin, len(pt))
	}
	kem := pt[32 : 32+KEMKeySize]
	if !hmac.Equal(pt[:32], joinMAC(inv.Code, inv.Room, e.Author, kem)) {
		return nil, fmt.Errorf("%w: does not prove the invite's code", ErrJoin)
	}
	name := string(pt[32+KEMKeySize:])
	if !utf8.ValidString(name) {
		return nil, fmt.Errorf("%w: name is not UTF-8", ErrJoin)
	}
	if _, err := ecdh.X25519().NewPublicKey(kem); err != nil {
		return nil, fmt.Errorf("%w: KEM key: %w", ErrJoin, err)
	}
	return &JoinRequest{Peer: e.Author, InviteID: id, KEM: append([]byte(nil), kem...), Name: name}, nil
}

func joinInfo(room string, author peer.ID, id [16]byte) []byte {
	b := appendStr([]byte(infoJoin), room)
	b = appendStr(b, string(author))
	return append(b, id[:]...)
}

func joinMAC(code [CodeSize]byte, room string, author peer.ID, kem []byte) []byte {
	m := hmac.New(sha256.New, code[:])
	m.Write(appendStr(appendStr([]byte(infoJoin), room), string(author)))
	m.Write(kem)
	return m.Sum(nil)
}
