package protocol

import "strings"

// Kinds of envelope of private rooms (see docs/protocol.md, "Sealed
// kinds"). Their bodies are laid out by package protocol/sealed; this
// package only knows their names, so that Decode accepts them and a node
// that predates them refuses them by kind rather than misreading them.
//
// The outer kind stays in the clear on purpose: relays store, rate-limit
// and expire envelopes by kind without holding any room key.
const (
	// KindSealedMessage is a chat message whose body is encrypted under
	// the room's epoch message key and carries the epoch's write
	// signature, so relays refuse it from non-members unread.
	KindSealedMessage = "sealed.message"
	// KindSealedEpoch is an epoch change written by the room's owner
	// (for a direct room, by either party for the genesis): the public
	// part relays check, key wraps for members and the encrypted room
	// state.
	KindSealedEpoch = "sealed.epoch"
	// KindSealedJoin is a join request made with an invite, encrypted to
	// the owner. It carries no write signature: the joiner holds no key
	// yet, so relays keep it under the per-author rate limits only.
	KindSealedJoin = "sealed.join"
)

// sealedKindPrefix starts every sealed kind, so that code deciding on
// storage policy can recognise sealed kinds added later.
const sealedKindPrefix = "sealed."

func init() {
	knownKinds[KindSealedMessage] = true
	knownKinds[KindSealedEpoch] = true
	knownKinds[KindSealedJoin] = true
}

// IsSealedKind reports whether kind is one of the kinds of private rooms,
// whose bodies only package protocol/sealed reads.
func IsSealedKind(kind string) bool { return strings.HasPrefix(kind, sealedKindPrefix) }
