package intake

import (
	"errors"

	"github.com/peerchat/peerchat/protocol"
)

// ErrStale marks an ephemeral signal that arrived too late to mean
// anything. Gossip ignores it rather than punishing the forwarder, which
// may have passed it on in time.
var ErrStale = errors.New("stale signal")

// rejectReason is the reason an envelope's refusal is counted under in
// peerchat_envelopes_rejected_total.
func rejectReason(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
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
