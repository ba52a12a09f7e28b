package roomsync

import (
	"bufio"
	"errors"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/reconcile"
	"github.com/peerchat/peerchat/protocol/sketch"
)

// A side that refuses what its peer sent says why in an Error frame
// before it resets the stream (docs/protocol.md, "What each error gets").
// These mark the refusals that are not a frame failing to decode.
var (
	// errUnexpected: a frame of a type the exchange does not allow there.
	errUnexpected = errors.New("unexpected frame")
	// errLimit: a bound of the protocol was exceeded.
	errLimit = errors.New("limit exceeded")
	// errInvalidEnvelope: an Envelope frame failed validation, or is a
	// signal, which is never synced.
	errInvalidEnvelope = errors.New("invalid envelope")
)

// reasonOf is the Error frame reason for a refusal, or "" for a failure
// the peer need not be told of: the stream broke, the peer refused first,
// the node is closing, the store failed (which answers by itself).
func reasonOf(err error) string {
	switch {
	case errors.Is(err, errInvalidEnvelope):
		return protocol.ReasonInvalidEnvelope
	case errors.Is(err, errLimit):
		return protocol.ReasonLimit
	case errors.Is(err, errUnexpected):
		return protocol.ReasonUnexpected
	case errors.Is(err, protocol.ErrFrame), errors.Is(err, reconcile.ErrMalformed), errors.Is(err, reconcile.ErrVersion),
		errors.Is(err, reconcile.ErrTooLarge), errors.Is(err, sketch.ErrMessage), errors.Is(err, sketch.ErrMismatch):
		return protocol.ReasonMalformed
	}
	return ""
}

// refuse ends a run that failed with err. When it is a refusal, it tells
// the peer why and closes the stream, so that the Error frame is read
// before the end of the stream (a reset would let the peer's transport
// drop it unread); otherwise, or when the frame cannot be written, it
// resets the stream.
func refuse(s network.Stream, w *bufio.Writer, err error) {
	if reason := reasonOf(err); reason != "" {
		if protocol.WriteFrame(w, protocol.FrameError, []byte(reason)) == nil && w.Flush() == nil {
			s.Close()
			return
		}
	}
	s.Reset()
}
