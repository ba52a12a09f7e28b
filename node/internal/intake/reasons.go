package intake

import (
	"errors"

	"github.com/peerchat/peerchat/node/internal/private"
	"github.com/peerchat/peerchat/protocol"
)

// ErrStale marks an ephemeral signal that arrived too late to mean
// anything. Gossip ignores it rather than punishing the forwarder, which
// may have passed it on in time.
var ErrStale = errors.New("stale signal")

// rejectReason is the reason an envelope's refusal is counted under in
// peerchat_envelopes_rejected_total.
func rejectReason(err error) string {
	if r := private.Reason(err); r != "" {
		return r
	}
	for _, r := range []struct {
		err    error
		reason string
	}{
		{protocol.ErrNonMinimalVarint, "non_minimal_varint"},
		{protocol.ErrNonCanonical, "non_canonical"},
		{protocol.ErrZeroLamport, "zero_lamport"},
		{protocol.ErrTooLarge, "too_large"},
		{protocol.ErrVersion, "version"},
		{protocol.ErrKind, "kind"},
		{protocol.ErrSignature, "signature"},
		{protocol.ErrWrongRoom, "wrong_room"},
		{protocol.ErrFutureSentAt, "future"},
		{ErrStale, "stale"},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "malformed"
}

// Ignorable reports whether a refusal is answered with Ignore rather than
// Reject on gossip, and skipped rather than ending the run in sync. Reject lowers the forwarding peer's score, which is right for
// what no honest node forwards; but a signal may go stale on the way, and
// nodes that predate this version's canonical rules (docs/protocol.md,
// "Versioning") accept and forward what those rules refuse.
func Ignorable(err error) bool {
	return private.Ignore(err) || errors.Is(err, ErrStale) || errors.Is(err, protocol.ErrNonCanonical) || errors.Is(err, protocol.ErrZeroLamport)
}
