package reconcile

import "errors"

// Sentinel errors let callers tell a misbehaving or incompatible peer apart
// from a local misuse of the API. Errors returned by this package wrap one
// of them, so test with errors.Is.
var (
	// ErrMalformed reports a message that does not follow the wire format:
	// truncated fields, unknown modes, bounds or items out of order, or
	// lengths that do not match what the receiver holds.
	ErrMalformed = errors.New("reconcile: malformed message")

	// ErrVersion reports a message whose version byte this package does not
	// speak.
	ErrVersion = errors.New("reconcile: unsupported protocol version")

	// ErrTooLarge reports a message longer than Config.MaxMessageBytes. A
	// peer that honours the same limit never sends one.
	ErrTooLarge = errors.New("reconcile: message too large")

	// ErrState reports an Initiator method called out of order, such as Next
	// before Start or after reconciliation has finished.
	ErrState = errors.New("reconcile: call out of order")
)
