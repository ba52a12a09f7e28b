package sender

import (
	"context"

	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/protocol"
)

// Sign builds and signs an envelope of kind with body from the local user.
// Signals are signed like messages so that nobody can type, appear online
// or mark messages read in another user's name.
func (s *Sender) Sign(room, kind string, body any) (*protocol.Envelope, error) {
	return s.sign(room, kind, body)
}

// Publish gossips env, an envelope of the local user's, in room. Peers
// count signals against the author's rate limit too, so it takes a token
// from the user's bucket, but never refuses: a signal the peers drop is
// harmless.
func (s *Sender) Publish(ctx context.Context, room string, env *protocol.Envelope) error {
	if s.quiet(room, env.Kind) {
		return nil
	}
	s.own.Allow(room)
	return s.cfg.Rooms.Publish(ctx, room, env.Bytes())
}

// Signal signs a signal of kind with body and gossips it in room.
func (s *Sender) Signal(ctx context.Context, room, kind string, body any) error {
	if err := s.cfg.Rooms.Joined(room); err != nil {
		return err
	}
	env, err := s.sign(room, kind, body)
	if err != nil {
		return err
	}
	if err := s.Publish(ctx, room, env); err != nil {
		return fault.Errorf(fault.CodeUnavailable, "publish %s: %w", kind, err)
	}
	return nil
}
