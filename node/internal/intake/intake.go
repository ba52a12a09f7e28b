// Package intake is the one path of every envelope from a peer, by gossip
// or by sync: check it (decode, signature, room, clock, body, rate limit),
// store it once, and route it by kind to the role that acts on it.
package intake

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/metrics"
	"github.com/peerchat/peerchat/node/internal/names"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Received is an envelope that passed the checks, decoded and verified
// once. Which body field is set depends on the envelope's kind.
type Received struct {
	Env      *protocol.Envelope
	Msg      protocol.Message      // KindMessage
	Typing   protocol.TypingBody   // KindTyping
	Presence protocol.PresenceBody // KindPresence
	Receipt  protocol.ReceiptBody  // KindReceipt
}

// Signals acts on what is not history: the live signals, and what a
// message means for them (it ends its author's typing and is owed a
// delivered receipt). Each method runs on the goroutine that received the
// envelope (a room's read loop, or a sync).
type Signals interface {
	OnMessage(ctx context.Context, room string, author peer.ID)
	OnTyping(ctx context.Context, env *protocol.Envelope, b protocol.TypingBody)
	OnPresence(ctx context.Context, env *protocol.Envelope, b protocol.PresenceBody)
	OnReceipt(ctx context.Context, env *protocol.Envelope, b protocol.ReceiptBody)
}

// Config is what an Intake needs; every field is required.
type Config struct {
	Self    peer.ID
	Store   *store.Store
	Guard   *abuse.Guard
	Metrics *metrics.Metrics
	Names   *names.Book
	// Horizon is the retention horizon of a room: what lies at or below it
	// was dropped on purpose and is not stored again.
	Horizon func(room string) uint64
	Signals Signals
	Log     *slog.Logger
	// Private checks and admits the sealed kinds of private rooms; nil
	// leaves them to their outer checks and stores nothing of them.
	Private Private
}

// Intake checks, stores and routes envelopes from peers. It keeps no
// state of its own; its methods are safe for concurrent use.
type Intake struct{ cfg Config }

// New returns the intake of cfg.
func New(cfg Config) *Intake { return &Intake{cfg: cfg} }

// Validator checks every envelope gossiped in room before gossipsub stores
// or forwards it. Invalid envelopes are rejected (which also lowers the
// sender's score) and counted by reason; a valid one is handed to the
// room's read loop as ValidatorData, so it is decoded and verified once.
func (in *Intake) Validator(room string) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if from == in.cfg.Self {
			return pubsub.ValidationAccept // our own send, stored before it was published
		}
		// An author over its rate limit is dropped before its signature
		// is verified: a flood then costs a decode, not a verification.
		env, err := protocol.DecodeStored(m.Data)
		if err == nil && in.cfg.Guard.Exhausted(from, room, env.Author) {
			return pubsub.ValidationIgnore
		}
		if err == nil {
			err = env.Verify()
		}
		rcv, err := in.checkDecoded(room, env, err)
		if Ignorable(err) {
			return pubsub.ValidationIgnore
		}
		if err != nil {
			return pubsub.ValidationReject
		}
		if (env.Kind == protocol.KindMessage || env.Kind == protocol.KindSealedMessage) && in.stored(ctx, env) {
			// Gossipsub drops a message it saw in the last 2 minutes;
			// one already stored that comes again later is a replay (or
			// a copy of what sync brought first): neither forwarded nor
			// counted against its author, whose tokens a replayer would
			// otherwise spend.
			in.cfg.Metrics.Reject("replay")
			return pubsub.ValidationIgnore
		}
		// Ignore, not Reject: the peer that forwarded it may be honest;
		// only one far beyond the limit is punished (abuse.OverLimit).
		if !in.cfg.Guard.Take(from, room, env.Author) {
			return pubsub.ValidationIgnore
		}
		m.ValidatorData = rcv
		return pubsub.ValidationAccept
	}
}

// stored reports whether env is in the store. A failed lookup says no:
// the envelope is then verified and stored as usual, and the store tells
// a duplicate apart itself.
func (in *Intake) stored(ctx context.Context, env *protocol.Envelope) bool {
	has, err := in.cfg.Store.Has(ctx, env.ID())
	return err == nil && has
}

// Check decodes and verifies an envelope that claims to belong to room,
// counting the reason when it is refused. Sync uses it; the rate limit is
// sync's own (abuse.SentAtLimit).
func (in *Intake) Check(room string, data []byte) (*Received, error) {
	env, err := protocol.Decode(data)
	return in.checkDecoded(room, env, err)
}

// checkDecoded finishes Check for an envelope already decoded and
// verified, or not, as err says.
func (in *Intake) checkDecoded(room string, env *protocol.Envelope, err error) (*Received, error) {
	now := time.Now()
	if err == nil {
		err = env.Validate(room, now)
	}
	rcv := &Received{Env: env}
	if err == nil {
		switch env.Kind {
		case protocol.KindMessage:
			rcv.Msg, err = protocol.MessageFromEnvelope(env)
		case protocol.KindTyping:
			rcv.Typing, err = protocol.DecodeTyping(env)
		case protocol.KindPresence:
			rcv.Presence, err = protocol.DecodePresence(env)
		case protocol.KindReceipt:
			rcv.Receipt, err = protocol.DecodeReceipt(env)
		default:
			if protocol.IsSealedKind(env.Kind) {
				err = in.checkSealed(env)
			}
		}
		if err == nil && protocol.Ephemeral(env.Kind) && env.SentAt.Before(now.Add(-protocol.MaxSignalAge)) {
			err = fmt.Errorf("%w: %s signal from %s", ErrStale, env.Kind, env.SentAt.Format(time.RFC3339))
		}
	}
	if err != nil {
		in.cfg.Metrics.Reject(rejectReason(err))
		in.cfg.Log.Debug("envelope rejected", "room", room, "err", err)
		return nil, err
	}
	return rcv, nil
}

// Deliver accepts what a room's validator handed its read loop.
func (in *Intake) Deliver(ctx context.Context, room string, data any) {
	if rcv, ok := data.(*Received); ok {
		in.Accept(ctx, room, rcv)
	}
}

// Accept acts on a valid envelope from a peer, by gossip or sync: the one
// place that routes an envelope by its kind.
func (in *Intake) Accept(ctx context.Context, room string, rcv *Received) {
	sig := in.cfg.Signals
	switch rcv.Env.Kind {
	case protocol.KindMessage:
		in.Store(ctx, rcv)
		sig.OnMessage(ctx, room, rcv.Env.Author)
	case protocol.KindTyping:
		sig.OnTyping(ctx, rcv.Env, rcv.Typing)
	case protocol.KindPresence:
		sig.OnPresence(ctx, rcv.Env, rcv.Presence)
	case protocol.KindReceipt:
		sig.OnReceipt(ctx, rcv.Env, rcv.Receipt)
	default:
		if protocol.IsSealedKind(rcv.Env.Kind) && in.cfg.Private != nil {
			in.acceptSealed(ctx, room, rcv.Env)
		}
	}
}

// Store stores a message without waiting for the disk (the store groups
// these writes into synced batches), unless it lies below the room's
// retention horizon.
func (in *Intake) Store(ctx context.Context, rcv *Received) {
	if rcv.Env.Lamport <= in.cfg.Horizon(rcv.Env.Room) {
		return
	}
	in.cfg.Metrics.Received.Inc()
	in.cfg.Names.Note(rcv.Env.Author, rcv.Msg.AuthorName)
	in.cfg.Store.ObserveLamport(rcv.Env.Lamport)
	if err := in.cfg.Store.AddMessageAsync(ctx, rcv.Env, rcv.Msg); err != nil && ctx.Err() == nil {
		in.cfg.Log.Warn("store received message", "id", rcv.Msg.ID, "err", err)
	}
}
