package protocol

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxRoomNameLen is the longest room name.
const MaxRoomNameLen = 64

// ErrRoomName is returned for a room name outside the allowed form.
var ErrRoomName = errors.New("room names are 1 to 64 characters of letters, digits, '-', '_' and '.'")

// ValidateRoomName checks that name is 1 to 64 characters of ASCII letters,
// digits, '-', '_' and '.'. The narrow alphabet keeps room names safe in
// URLs, topic names and datastore keys without escaping.
//
// Errors name what the user typed: characters (not bytes) and the
// character refused as it was written, so that "Ünïcode-räum" is told
// that 'Ü' is not allowed.
func ValidateRoomName(name string) error {
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("%w: %q is not allowed", ErrRoomName, c)
		}
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxRoomNameLen {
		return fmt.Errorf("%w: got %d characters", ErrRoomName, n)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%w: %q is reserved", ErrRoomName, name)
	}
	return nil
}

// Topic returns the gossipsub topic that carries room's envelopes. The
// version in the name lets a future format run beside this one.
func Topic(room string) string { return topicPrefix + room }

const topicPrefix = "/peerchat/1/room/"

// RoomOfTopic returns the room whose topic is topic, and false for a
// topic that is not a room's.
func RoomOfTopic(topic string) (string, bool) { return strings.CutPrefix(topic, topicPrefix) }

// GossipMessageID is the gossipsub message ID of an envelope published as
// data: the 32 raw bytes of SHA-256(data), not their hex. Every peer of a
// topic must compute the same ID, or the same envelope arriving by two
// paths counts as two messages and IHAVE/IWANT gossip names messages the
// other side cannot find.
func GossipMessageID(data []byte) string {
	sum := sha256.Sum256(data)
	return string(sum[:])
}

// AgentVersion is the libp2p identify agent version a peerchat node
// announces: "peerchat/" followed by its release version.
func AgentVersion(version string) string { return "peerchat/" + version }
