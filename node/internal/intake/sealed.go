package intake

import (
	"context"

	"github.com/peerchat/peerchat/node/internal/private"
	"github.com/peerchat/peerchat/protocol"
)

// Private is what intake needs of the private role: the validator's
// question, asked without any room key, and the admission of an envelope
// already stored. node/internal/private implements it.
type Private interface {
	Check(env *protocol.Envelope) error
	Accept(ctx context.Context, env *protocol.Envelope) (private.Outcome, error)
}

// checkSealed is the body check of a sealed kind. Without a private role
// (tests of public rooms only) sealed envelopes pass on their outer
// checks alone, as before private rooms were wired.
func (in *Intake) checkSealed(env *protocol.Envelope) error {
	if in.cfg.Private == nil {
		return nil
	}
	return in.cfg.Private.Check(env)
}

// acceptSealed stores a sealed envelope from a peer (without a message
// event: a store or relay has no text to show), then hands it to the
// private role and acts on what came of it.
func (in *Intake) acceptSealed(ctx context.Context, room string, env *protocol.Envelope) {
	if env.Lamport <= in.cfg.Horizon(room) && !protocol.RetentionExempt(env.Kind) {
		return
	}
	if in.stored(ctx, env) {
		return // a copy by gossip and sync: admitted once
	}
	if env.Kind == protocol.KindSealedMessage {
		in.cfg.Metrics.Received.Inc()
	}
	in.cfg.Store.ObserveLamport(env.Lamport)
	if _, err := in.cfg.Store.AddSealed(ctx, env, false); err != nil {
		if ctx.Err() == nil {
			in.cfg.Log.Warn("store received sealed envelope", "room", room, "kind", env.Kind, "err", err)
		}
		return
	}
	in.admitSealed(ctx, room, env)
}

// admitSealed hands a stored sealed envelope to the private role and
// turns the outcome into stored opened messages and events.
func (in *Intake) admitSealed(ctx context.Context, room string, env *protocol.Envelope) {
	if in.cfg.Private == nil {
		return
	}
	out, err := in.cfg.Private.Accept(ctx, env)
	if err != nil && ctx.Err() == nil {
		// The envelope stays valid and stored; only nothing (more) came of
		// it here: a held message, a join with a revoked invite.
		in.cfg.Log.Debug("sealed envelope not admitted", "room", room, "kind", env.Kind, "reason", private.Reason(err), "err", err)
	}
	for _, o := range out.Opened {
		in.storeOpened(ctx, o)
	}
	var events []protocol.Event
	if out.Joined {
		events = append(events, protocol.Event{Type: protocol.EventRoomJoined, Room: room})
	}
	if out.Removed {
		events = append(events, protocol.Event{Type: protocol.EventRoomRemoved, Room: room})
	}
	if r := out.Request; r != nil {
		events = append(events, protocol.Event{Type: protocol.EventJoinRequest, Room: room, PeerID: r.Peer.String(), Name: r.Name})
	}
	if len(events) > 0 {
		if err := in.cfg.Store.AppendEvents(ctx, true, events...); err != nil && ctx.Err() == nil {
			in.cfg.Log.Warn("private room events", "room", room, "err", err)
		}
	}
}

// storeOpened indexes one opened sealed message as the history a member
// reads, with its message event, and tells the signals as a public
// message would.
func (in *Intake) storeOpened(ctx context.Context, o private.Opened) {
	env := o.Envelope
	msg, err := protocol.MessageFromSealed(env, o.Plaintext)
	if err != nil {
		in.cfg.Metrics.Reject(rejectReason(err))
		in.cfg.Log.Debug("opened sealed message refused", "room", env.Room, "err", err)
		return
	}
	in.cfg.Names.Note(env.Author, msg.AuthorName)
	if _, err := in.cfg.Store.AddOpened(ctx, env, msg, false); err != nil {
		if ctx.Err() == nil {
			in.cfg.Log.Warn("store opened message", "id", msg.ID, "err", err)
		}
		return
	}
	if env.Author != in.cfg.Self {
		in.cfg.Signals.OnMessage(ctx, env.Room, env.Author)
	}
}

// Replay hands the private role again the stored sealed messages of rooms
// that did not open: what it held waiting for an epoch or a key lived in
// memory only, so on start, once the role has loaded its key state, each
// gets another chance. Run it before the rooms start receiving.
func (in *Intake) Replay(ctx context.Context, rooms []string) error {
	if in.cfg.Private == nil {
		return nil
	}
	for _, room := range rooms {
		envs, err := in.cfg.Store.UnopenedSealed(ctx, room)
		if err != nil {
			return err
		}
		for _, env := range envs {
			in.admitSealed(ctx, room, env)
		}
	}
	return nil
}
