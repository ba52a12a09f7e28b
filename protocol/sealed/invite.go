package sealed

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// InvitePrefix starts every invite link.
const InvitePrefix = "peerchat://join/"

// CodeSize is the size of an invite's secret code.
const CodeSize = 32

// Limits of an invite's relay hints.
const (
	maxInviteRelays   = 4
	maxInviteRelayLen = 256
	maxInviteLen      = 2048
)

const infoInviteID = "peerchat/v1/invite-id"

// Invite is an invite link to a private room. The room's name travels in
// the clear part of the link; the owner, the code, the owner's KEM key
// for join requests, the expiry and relay hints travel in the fragment,
// which browsers and servers do not send on.
//
//	peerchat://join/<room>#<base64url, unpadded, of:
//	  version(1) ‖ str(owner) ‖ code(32) ‖ ownerKEM(32) ‖ uvarint(expires, Unix s)
//	  ‖ uvarint(#relays ≤ 4) ‖ { str(multiaddr ≤ 256) }*>
type Invite struct {
	Room     string
	Owner    peer.ID
	Code     [CodeSize]byte
	OwnerKEM []byte
	Expires  time.Time
	Relays   []string
}

// NewInvite draws a fresh code for an invite to room, owned by owner,
// whose join requests are sealed to ownerKEM, valid until expires.
func NewInvite(room string, owner peer.ID, ownerKEM []byte, expires time.Time, relays ...string) (*Invite, error) {
	inv := &Invite{Room: room, Owner: owner, OwnerKEM: ownerKEM, Expires: expires.Truncate(time.Second), Relays: relays}
	code, err := random(CodeSize)
	if err != nil {
		return nil, err
	}
	copy(inv.Code[:], code)
	if _, err := inv.encode(); err != nil {
		return nil, err
	}
	return inv, nil
}

// ID returns the invite's revocation ID: HKDF-SHA256(code, room,
// "peerchat/v1/invite-id")[:16]. Join requests carry it in the clear, so
// the owner drops a request for a revoked or unknown invite before paying
// for its HPKE open, and relays may cap requests per invite.
func (inv *Invite) ID() [16]byte {
	var id [16]byte
	copy(id[:], derive(inv.Code[:], inv.Room, infoInviteID, 16))
	return id
}

// IDString returns the hex form of ID, as the API names an invite.
func (inv *Invite) IDString() string {
	id := inv.ID()
	return hex.EncodeToString(id[:])
}

// String returns the link.
func (inv *Invite) String() string {
	s, err := inv.encode()
	if err != nil {
		return ""
	}
	return s
}

func (inv *Invite) encode() (string, error) {
	if !IsPrivateRoom(inv.Room) {
		return "", fmt.Errorf("%w: %q is not a private room", ErrInvite, inv.Room)
	}
	if len(inv.Owner) == 0 || len(inv.Owner) > maxPeerIDLen || len(inv.OwnerKEM) != KEMKeySize || inv.Expires.Unix() < 0 {
		return "", fmt.Errorf("%w: owner, KEM key or expiry out of range", ErrInvite)
	}
	if len(inv.Relays) > maxInviteRelays {
		return "", fmt.Errorf("%w: %d relays, at most %d", ErrInvite, len(inv.Relays), maxInviteRelays)
	}
	b := []byte{Version}
	b = appendField(b, []byte(inv.Owner))
	b = append(b, inv.Code[:]...)
	b = append(b, inv.OwnerKEM...)
	b = binary.AppendUvarint(b, uint64(inv.Expires.Unix()))
	b = binary.AppendUvarint(b, uint64(len(inv.Relays)))
	for _, r := range inv.Relays {
		if len(r) == 0 || len(r) > maxInviteRelayLen {
			return "", fmt.Errorf("%w: relay address of %d bytes", ErrInvite, len(r))
		}
		b = appendField(b, []byte(r))
	}
	return InvitePrefix + inv.Room + "#" + base64.RawURLEncoding.EncodeToString(b), nil
}

// ParseInvite reads an invite link, exactly as String writes it (an API
// trims what a user pasted first). It checks the form only; Check tells
// whether it is still valid.
func ParseInvite(link string) (*Invite, error) {
	if len(link) > maxInviteLen {
		return nil, fmt.Errorf("%w: %d characters", ErrInvite, len(link))
	}
	rest, ok := strings.CutPrefix(link, InvitePrefix)
	if !ok {
		return nil, fmt.Errorf("%w: does not start %q", ErrInvite, InvitePrefix)
	}
	room, frag, ok := strings.Cut(rest, "#")
	if !ok || protocol.ValidateRoomName(room) != nil || !IsPrivateRoom(room) {
		return nil, fmt.Errorf("%w: no private room name", ErrInvite)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(frag)
	if err != nil {
		return nil, fmt.Errorf("%w: fragment: %w", ErrInvite, err)
	}
	r := reader{buf: raw}
	if v := r.byte(); r.err == nil && v != Version {
		return nil, fmt.Errorf("%w: %w: %d", ErrInvite, ErrVersion, v)
	}
	inv := &Invite{Room: room}
	inv.Owner = peer.ID(r.field(maxPeerIDLen))
	copy(inv.Code[:], r.bytes(CodeSize))
	inv.OwnerKEM = append([]byte(nil), r.bytes(KEMKeySize)...)
	exp := r.uvarint()
	n := r.uvarint()
	if r.err == nil && n > maxInviteRelays {
		return nil, fmt.Errorf("%w: %d relays", ErrInvite, n)
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		inv.Relays = append(inv.Relays, string(r.field(maxInviteRelayLen)))
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvite, err)
	}
	if exp > 1<<40 {
		return nil, fmt.Errorf("%w: expiry out of range", ErrInvite)
	}
	inv.Expires = time.Unix(int64(exp), 0).UTC()
	if _, err := inv.Owner.ExtractPublicKey(); err != nil {
		return nil, fmt.Errorf("%w: owner: %w", ErrInvite, err)
	}
	// Re-encode, so that an invite has exactly one link.
	if s, err := inv.encode(); err != nil || s != link {
		return nil, fmt.Errorf("%w: not in canonical form", ErrInvite)
	}
	return inv, nil
}

// Check reports whether the invite is still valid at now.
func (inv *Invite) Check(now time.Time) error {
	if !now.Before(inv.Expires) {
		return fmt.Errorf("%w: at %s", ErrInviteExpired, inv.Expires.Format(time.RFC3339))
	}
	return nil
}
