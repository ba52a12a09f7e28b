package protocol

import (
	"fmt"
	"strings"
)

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
	// KindSealedKeys is a member's new KEM key for the room, sealed and
	// write-signed like a message: the owner wraps later epochs to it, so
	// a thief of the member's older key cannot open them.
	KindSealedKeys = "sealed.keys"
)

// sealedKindPrefix starts every sealed kind, so that code deciding on
// storage policy can recognise sealed kinds added later.
const sealedKindPrefix = "sealed."

func init() {
	knownKinds[KindSealedMessage] = true
	knownKinds[KindSealedEpoch] = true
	knownKinds[KindSealedJoin] = true
	knownKinds[KindSealedKeys] = true
}

// IsSealedKind reports whether kind is one of the kinds of private rooms,
// whose bodies only package protocol/sealed reads.
func IsSealedKind(kind string) bool { return strings.HasPrefix(kind, sealedKindPrefix) }

// MessageFromSealed reads the plaintext of a sealed.message envelope, as
// opened by its room's epoch key: the same JSON body as a message's, read
// strictly always (no sealed body predates the strict rules), and returned
// as the Message UIs see, with the outer envelope's ID, author and clock.
func MessageFromSealed(e *Envelope, plaintext []byte) (Message, error) {
	if e.Kind != KindSealedMessage {
		return Message{}, fmt.Errorf("%w: %q is not a sealed message", ErrKind, e.Kind)
	}
	return readMessage(e, plaintext, "sealed message", func() error { return checkBody(plaintext, messageFields) })
}

// SealedStub is the Message a node that cannot open a sealed.message (a
// relay, or a member without that epoch's key) indexes it under: its ID,
// room, author and clock, and no text.
func SealedStub(e *Envelope) Message {
	return Message{ID: e.ID().String(), Room: e.Room, Author: e.Author.String(), Lamport: e.Lamport, SentAt: e.SentAt}
}

// RetentionExempt reports whether envelopes of kind must outlive a room's
// retention (--retention, --retention-bytes): a private room's epoch
// changes, without which a member offline longer than the retention
// period could not follow the chain to the keys of what came after.
func RetentionExempt(kind string) bool { return kind == KindSealedEpoch }
