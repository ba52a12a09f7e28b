package sender

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// PublishSealed sends an envelope of a sealed kind for the local user in
// room: it joins the room's topic if need be (an owner learns its room's
// name only when the room is created), takes a token of the user's own
// rate limit, picks the Lamport clock and send time, has body seal the
// plaintext under that header (a sealed body is bound to it), signs,
// stores the envelope durably without a message event (the caller indexes
// the plaintext it knows) and publishes it. The returned envelope is on
// disk; a failed publish is only logged, since sync delivers it later.
func (s *Sender) PublishSealed(ctx context.Context, kind, room string, body func(sealed.Header) ([]byte, error)) (*protocol.Envelope, error) {
	if !protocol.IsSealedKind(kind) {
		return nil, fault.Errorf(fault.CodeInternal, "publish sealed: %q is not a sealed kind", kind)
	}
	if err := s.cfg.Rooms.Join(ctx, room); err != nil {
		return nil, err
	}
	if !s.own.Allow(room) {
		l := s.own.Limit()
		return nil, fault.Errorf(fault.CodeRateLimited, "more than %g messages a second (bursts of %d) into room %s; retry in a moment", l.PerSecond, l.Burst, room)
	}
	self, err := peer.IDFromPrivateKey(s.cfg.Key)
	if err != nil {
		return nil, fault.Errorf(fault.CodeInternal, "peer ID of key: %w", err)
	}
	env := &protocol.Envelope{
		Kind:    kind,
		Room:    room,
		Author:  self,
		Lamport: s.cfg.Store.NextLamport(),
		SentAt:  time.Now().UTC().Truncate(time.Millisecond),
	}
	if env.Body, err = body(sealed.HeaderOf(env)); err != nil {
		return nil, fmt.Errorf("seal %s: %w", kind, err)
	}
	if err := env.Sign(s.cfg.Key); err != nil {
		if errors.Is(err, protocol.ErrTooLarge) {
			return nil, &fault.Error{Code: fault.CodeTooLarge, Message: kind + " is too large", Err: err}
		}
		return nil, fault.Errorf(fault.CodeInternal, "sign %s: %w", kind, err)
	}
	if _, err := s.cfg.Store.AddSealed(ctx, env, true); err != nil {
		return nil, fault.Errorf(fault.CodeUnavailable, "store %s: %w", kind, err)
	}
	s.cfg.Metrics.Sent.Inc()
	if err := s.cfg.Rooms.Publish(ctx, room, env.Bytes()); err != nil {
		s.cfg.Log.Warn("publish sealed envelope", "room", room, "kind", kind, "err", err)
	}
	return env, nil
}

// Sealed is the sender as the private role's Publisher
// (private.Publisher): that interface's Publish has another signature
// than the sender's own Publish of a signed envelope.
type Sealed struct{ s *Sender }

// Sealed returns the sender as a private.Publisher.
func (s *Sender) Sealed() Sealed { return Sealed{s} }

// Publish is PublishSealed.
func (p Sealed) Publish(ctx context.Context, kind, room string, body func(sealed.Header) ([]byte, error)) (*protocol.Envelope, error) {
	return p.s.PublishSealed(ctx, kind, room, body)
}

// quiet reports whether an envelope of kind must not be published in
// room: a signal in a private room would tell relays, in the clear, who
// reads and types there, and the member's display name.
func (s *Sender) quiet(room, kind string) bool {
	return !protocol.IsSealedKind(kind) && s.cfg.Private != nil && s.cfg.Private(room)
}
