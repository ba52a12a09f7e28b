package sealed

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// RoomPrefix starts the name of every private room. A private room's name
// is an ordinary room name (protocol.ValidateRoomName accepts it), so the
// store, sync and rate limits key private rooms exactly as public ones.
const RoomPrefix = "pv1-"

// roomIDBytes is how many bytes of the room hash the name carries: 160
// bits, which no one guesses, in 32 base32 characters.
const roomIDBytes = 20

// SaltSize is the size of the owner's random room salt.
const SaltSize = 32

// b32 is lower-case base32 without padding: letters and digits only, so a
// room name is safe in URLs, topics and datastore keys.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// RoomName returns the name of the private room that owner creates with
// salt: "pv1-" and base32 of SHA-256("peerchat/v1/room" ‖ owner ‖ salt)
// cut to 20 bytes. Because the genesis epoch carries salt in the clear,
// anyone can check that its author is the owner the name commits to,
// which is how relays learn who alone may change the room's epochs.
func RoomName(owner peer.ID, salt []byte) string {
	h := sha256.New()
	h.Write([]byte("peerchat/v1/room"))
	h.Write(lenPrefixed([]byte(owner)))
	h.Write(salt)
	return RoomPrefix + b32.EncodeToString(h.Sum(nil)[:roomIDBytes])
}

// dmRoomName returns the name of the direct room of the two parties (in
// sorted order) with the DM salt derived from their shared secret.
func dmRoomName(a, b peer.ID, salt []byte) string {
	h := sha256.New()
	h.Write([]byte("peerchat/v1/dm"))
	h.Write(lenPrefixed([]byte(a)))
	h.Write(lenPrefixed([]byte(b)))
	h.Write(salt)
	return RoomPrefix + b32.EncodeToString(h.Sum(nil)[:roomIDBytes])
}

// IsPrivateRoom reports whether name has the form of a private room's
// name. Public room names of that form cannot be created (see
// ValidatePublicRoomName), so the form alone tells the two apart.
func IsPrivateRoom(name string) bool {
	rest, ok := strings.CutPrefix(name, RoomPrefix)
	if !ok || len(rest) != b32.EncodedLen(roomIDBytes) {
		return false
	}
	_, err := b32.DecodeString(rest)
	return err == nil
}

// ValidatePublicRoomName refuses a public room name that has the form of a
// private one, so that nobody can open a plaintext room that members would
// take for an encrypted one.
func ValidatePublicRoomName(name string) error {
	if strings.HasPrefix(name, RoomPrefix) {
		return fmt.Errorf("room names starting %q are reserved for private rooms", RoomPrefix)
	}
	return nil
}

// lenPrefixed returns b behind its length as one byte; every field hashed
// this way is under 256 bytes (peer IDs are at most 64).
func lenPrefixed(b []byte) []byte {
	return append([]byte{byte(len(b))}, b...)
}
