package protocol

import (
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of envelope besides messages. Typing and presence are ephemeral:
// gossiped to whoever is connected, never stored or synced. Receipts are
// durable read and delivery markers: stored (the newest per author, room
// and kind) and synced.
const (
	KindTyping   = "typing"
	KindPresence = "presence"
	KindReceipt  = "receipt"
)

func init() {
	knownKinds[KindTyping] = true
	knownKinds[KindPresence] = true
	knownKinds[KindReceipt] = true
}

// MaxSignalAge is how old an ephemeral signal may be when it arrives.
// Older ones are replays or stuck in a queue and would show stale state.
const MaxSignalAge = time.Minute

// Presence statuses.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

// Receipt kinds.
const (
	ReceiptDelivered = "delivered"
	ReceiptRead      = "read"
)

// TypingBody is the body of a typing signal: the author is typing for TTL.
type TypingBody struct {
	Name  string `json:"name,omitempty"`
	TTLMS int64  `json:"ttl_ms"`
}

// PresenceBody announces the author's status, valid for the lease. A peer
// whose lease runs out without renewal is offline.
type PresenceBody struct {
	Name    string `json:"name,omitempty"`
	Status  string `json:"status"`
	LeaseMS int64  `json:"lease_ms"`
	// RoomSize is the author's estimate of how many members the room
	// has, itself included (0: no estimate). Members pace their control
	// traffic by the room's size, and a node that has just joined knows
	// only its few neighbours; the estimates of the members it hears from
	// correct it in one announcement instead of one per member.
	RoomSize int `json:"room_size,omitempty"`
}

// MaxLeaseMS bounds PresenceBody.LeaseMS: ten minutes.
const MaxLeaseMS = 10 * 60_000

// MaxRoomSize bounds PresenceBody.RoomSize.
const MaxRoomSize = 1 << 20

// ReceiptBody moves the author's marker of Kind in the room up to the
// message UpTo, whose Lamport clock is given so that markers can be
// compared in history order without the message at hand.
type ReceiptBody struct {
	Kind        string `json:"kind"`
	UpTo        string `json:"up_to"`
	UpToLamport uint64 `json:"up_to_lamport"`
}

// DecodeTyping reads and checks a typing body.
func DecodeTyping(e *Envelope) (TypingBody, error) {
	var b TypingBody
	if err := decodeBody(e, KindTyping, &b, typingFields); err != nil {
		return b, err
	}
	if b.TTLMS <= 0 || b.TTLMS > 30_000 {
		return b, fmt.Errorf("%w: typing ttl %d ms", ErrMalformed, b.TTLMS)
	}
	return b, nil
}

// DecodePresence reads and checks a presence body.
func DecodePresence(e *Envelope) (PresenceBody, error) {
	var b PresenceBody
	if err := decodeBody(e, KindPresence, &b, presenceFields); err != nil {
		return b, err
	}
	switch b.Status {
	case StatusOnline, StatusAway, StatusOffline:
	default:
		return b, fmt.Errorf("%w: presence status %q", ErrMalformed, b.Status)
	}
	if b.LeaseMS < 0 || b.LeaseMS > MaxLeaseMS {
		return b, fmt.Errorf("%w: presence lease %d ms", ErrMalformed, b.LeaseMS)
	}
	if b.RoomSize < 0 || b.RoomSize > MaxRoomSize {
		return b, fmt.Errorf("%w: presence room size %d", ErrMalformed, b.RoomSize)
	}
	return b, nil
}

// DecodeReceipt reads and checks a receipt body.
func DecodeReceipt(e *Envelope) (ReceiptBody, error) {
	var b ReceiptBody
	if err := decodeBody(e, KindReceipt, &b, receiptFields); err != nil {
		return b, err
	}
	if b.Kind != ReceiptDelivered && b.Kind != ReceiptRead {
		return b, fmt.Errorf("%w: receipt kind %q", ErrMalformed, b.Kind)
	}
	if _, err := ParseID(b.UpTo); err != nil {
		return b, fmt.Errorf("%w: receipt up_to: %w", ErrMalformed, err)
	}
	return b, nil
}

// decodeBody reads e's JSON body into v after checking e's kind, and
// refuses a received body that names one of fields leniently (see
// strictBody).
func decodeBody(e *Envelope, kind string, v any, fields []string) error {
	if e.Kind != kind {
		return fmt.Errorf("%w: %q is not %s", ErrKind, e.Kind, kind)
	}
	if err := json.Unmarshal(e.Body, v); err != nil {
		return fmt.Errorf("%w: %s body: %w", ErrMalformed, kind, err)
	}
	if err := strictBody(e, fields); err != nil {
		return fmt.Errorf("%w: %s %w", ErrMalformed, kind, err)
	}
	return nil
}

// Ephemeral reports whether envelopes of kind are never stored.
func Ephemeral(kind string) bool { return kind == KindTyping || kind == KindPresence }
