// Package sender is the local user's way out: it signs, stores durably
// and publishes the user's messages and signals, and reports a message
// queued while no peer of the room was there to take it, then sent once a
// sync hands it over (the outbox).
package sender

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/events"
	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/node/internal/metrics"
	"github.com/peerchat/peerchat/node/internal/rooms"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Config is what a Sender needs; every field is required but Limit, whose
// zero value is the default rate limit.
type Config struct {
	Key     crypto.PrivKey
	Name    string // the display name sent with messages at first; SetName changes it
	Store   *store.Store
	Rooms   *rooms.Set
	Limit   abuse.RateLimit
	Metrics *metrics.Metrics
	Events  *events.Log
	Log     *slog.Logger
	// Private, when set, tells the private rooms the user is a member of:
	// signals (typing, presence, receipts) are not sent there, since they
	// would go out in the clear and sealed signals are not built yet.
	Private func(room string) bool
}

// Sender sends for the local user. Its methods are safe for concurrent
// use.
type Sender struct {
	cfg Config
	own abuse.OwnLimits

	nameMu sync.Mutex
	name   string // the display name sent with messages; guarded by nameMu (see name.go)

	mu sync.Mutex
	// queued holds the messages sent while the room had no peer, per
	// room, until a sync hands them over. Guarded by mu.
	queued map[string][]protocol.Message
}

// New returns the sender of cfg.
func New(cfg Config) *Sender {
	return &Sender{cfg: cfg, name: cfg.Name, own: abuse.NewOwnLimits(cfg.Limit), queued: map[string][]protocol.Message{}}
}

// Send signs a message from the local user into room, stores it durably and
// publishes it. It returns only after the message is on disk, so a message
// Send reported is never lost. When clientMsgID was used before in the
// room, nothing is sent again: the earlier message is returned with
// created false. publishCtx bounds the publishing, which outlives ctx when
// the message is durable but the request is gone.
func (s *Sender) Send(ctx, publishCtx context.Context, room, text, clientMsgID string) (msg protocol.Message, created bool, err error) {
	if err := s.cfg.Rooms.Joined(room); err != nil {
		return msg, false, err
	}
	if err := protocol.ValidateText(text); err != nil {
		code := fault.CodeInvalid
		if utf8.RuneCountInString(text) > protocol.MaxTextLen {
			code = fault.CodeTooLarge
		}
		return msg, false, &fault.Error{Code: code, Message: err.Error(), Err: err}
	}
	if len(clientMsgID) > protocol.MaxClientMsgIDLen {
		return msg, false, fault.Errorf(fault.CodeInvalid, "client_msg_id is longer than %d bytes", protocol.MaxClientMsgIDLen)
	}
	// Peers drop an author's envelopes beyond the rate limit and score down
	// whoever keeps sending them, so the user hears about the limit here
	// instead of losing messages and peers later.
	if !s.own.Allow(room) {
		l := s.own.Limit()
		return msg, false, fault.Errorf(fault.CodeRateLimited, "more than %g messages a second (bursts of %d) into room %s; retry in a moment", l.PerSecond, l.Burst, room)
	}
	env, err := s.sign(room, protocol.KindMessage, protocol.MessageBody{Text: text, AuthorName: s.authorName(), ClientMsgID: clientMsgID})
	if err != nil {
		if errors.Is(err, protocol.ErrTooLarge) {
			return msg, false, &fault.Error{Code: fault.CodeTooLarge, Message: "message is too large", Err: err}
		}
		return msg, false, err
	}
	msg, err = protocol.MessageFromEnvelope(env)
	if err != nil {
		return msg, false, fault.Errorf(fault.CodeInternal, "read back message: %w", err)
	}
	res, err := s.cfg.Store.AddMessage(ctx, env, msg)
	if err != nil {
		return msg, false, fault.Errorf(fault.CodeUnavailable, "store message: %w", err)
	}
	if res.Outcome == store.Resent {
		return res.Message, false, nil
	}
	s.cfg.Metrics.Sent.Inc()
	// The message is durable; publishing can fail only if the node is
	// closing, and sync delivers it later in any case.
	if err := s.cfg.Rooms.Publish(publishCtx, room, env.Bytes()); err != nil {
		s.cfg.Log.Warn("publish message", "room", room, "id", msg.ID, "err", err)
	}
	if len(s.cfg.Rooms.Peers(room)) == 0 {
		s.queue(ctx, msg)
	}
	return msg, true, nil
}

// queue reports msg as queued: no peer of the room was there to take it.
// The next sync with a peer of the room hands it over (Synced).
func (s *Sender) queue(ctx context.Context, msg protocol.Message) {
	s.mu.Lock()
	s.queued[msg.Room] = append(s.queued[msg.Room], msg)
	s.mu.Unlock()
	s.status(ctx, msg.Room, msg.ID, protocol.MessageQueued)
}

// Synced reports the queued messages of room as sent: a sync with a peer
// of the room has just completed, so that peer holds them.
func (s *Sender) Synced(ctx context.Context, room string) {
	s.mu.Lock()
	msgs := s.queued[room]
	delete(s.queued, room)
	s.mu.Unlock()
	for _, m := range msgs {
		s.status(ctx, room, m.ID, protocol.MessageSent)
	}
}

func (s *Sender) status(ctx context.Context, room, id, status string) {
	zero := 0
	s.cfg.Events.Append(ctx, protocol.Event{Type: protocol.EventMessageStatus, Room: room, ID: id, Status: status, Delivered: &zero, Read: &zero})
}

// sign builds and signs an envelope from the local user.
func (s *Sender) sign(room, kind string, body any) (*protocol.Envelope, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fault.Errorf(fault.CodeInternal, "encode %s: %w", kind, err)
	}
	env := &protocol.Envelope{
		Kind:    kind,
		Room:    room,
		Lamport: s.cfg.Store.NextLamport(),
		SentAt:  time.Now().UTC().Truncate(time.Millisecond),
		Body:    data,
	}
	if err := env.Sign(s.cfg.Key); err != nil {
		if errors.Is(err, protocol.ErrTooLarge) {
			return nil, err
		}
		return nil, fault.Errorf(fault.CodeInternal, "sign %s: %w", kind, err)
	}
	return env, nil
}
