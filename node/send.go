package node

import (
	"context"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Send signs a message from the local user into room, stores it durably and
// publishes it. It returns only after the message is on disk, so a message
// Send reported is never lost. When clientMsgID was used before in the
// room, nothing is sent again: the earlier message is returned with
// created false.
func (n *Node) Send(ctx context.Context, roomName, text, clientMsgID string) (msg protocol.Message, created bool, err error) {
	r, err := n.joined(roomName)
	if err != nil {
		return msg, false, err
	}
	if err := protocol.ValidateText(text); err != nil {
		code := CodeInvalid
		if utf8.RuneCountInString(text) > protocol.MaxTextLen {
			code = CodeTooLarge
		}
		return msg, false, &Error{Code: code, Message: err.Error(), Err: err}
	}
	if len(clientMsgID) > protocol.MaxClientMsgIDLen {
		return msg, false, Errorf(CodeInvalid, "client_msg_id is longer than %d bytes", protocol.MaxClientMsgIDLen)
	}
	// Peers drop an author's envelopes beyond the rate limit and score down
	// whoever keeps sending them, so the user hears about the limit here
	// instead of losing messages and peers later.
	if !n.own.allow(roomName) {
		return msg, false, Errorf(CodeRateLimited, "more than %g messages a second (bursts of %d) into room %s; retry in a moment", n.own.cfg.PerSecond, n.own.cfg.Burst, roomName)
	}
	body, err := json.Marshal(protocol.MessageBody{Text: text, AuthorName: n.cfg.Name, ClientMsgID: clientMsgID})
	if err != nil {
		return msg, false, Errorf(CodeInternal, "encode message: %w", err)
	}
	env := &protocol.Envelope{
		Kind:    protocol.KindMessage,
		Room:    roomName,
		Lamport: n.store.NextLamport(),
		SentAt:  time.Now().UTC().Truncate(time.Millisecond),
		Body:    body,
	}
	if err := env.Sign(n.key); err != nil {
		if errors.Is(err, protocol.ErrTooLarge) {
			return msg, false, &Error{Code: CodeTooLarge, Message: "message is too large", Err: err}
		}
		return msg, false, Errorf(CodeInternal, "sign message: %w", err)
	}
	msg, err = protocol.MessageFromEnvelope(env)
	if err != nil {
		return msg, false, Errorf(CodeInternal, "read back message: %w", err)
	}
	res, err := n.store.AddMessage(ctx, env, msg)
	if err != nil {
		return msg, false, Errorf(CodeUnavailable, "store message: %w", err)
	}
	if res.Outcome == store.Resent {
		return res.Message, false, nil
	}
	n.metrics.sent.Inc()
	// The message is durable; publishing can fail only if the node is
	// closing, and sync delivers it later in any case.
	if err := r.topic.Publish(n.ctx, env.Bytes()); err != nil {
		n.log.Warn("publish message", "room", roomName, "id", msg.ID, "err", err)
	}
	if len(r.topic.ListPeers()) == 0 {
		n.queue(ctx, msg)
	}
	return msg, true, nil
}

// History returns up to limit messages of room before the message with ID
// before (or the newest, when before is empty), oldest first, and whether
// older messages exist. Limit is clamped to 1..500; zero means 50.
func (n *Node) History(ctx context.Context, roomName, before string, limit int) ([]protocol.Message, bool, error) {
	if _, err := n.joined(roomName); err != nil {
		return nil, false, err
	}
	switch {
	case limit == 0:
		limit = 50
	case limit < 0:
		return nil, false, Errorf(CodeInvalid, "limit must be positive")
	case limit > 500:
		limit = 500
	}
	var beforeID *protocol.ID
	if before != "" {
		id, err := protocol.ParseID(before)
		if err != nil {
			return nil, false, Errorf(CodeInvalid, "before: %w", err)
		}
		beforeID = &id
	}
	msgs, more, err := n.store.History(ctx, roomName, beforeID, limit)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, Errorf(CodeNotFound, "%w", err)
	}
	if err != nil {
		return nil, false, Errorf(CodeUnavailable, "read history: %w", err)
	}
	if msgs == nil {
		msgs = []protocol.Message{}
	}
	return msgs, more, nil
}

// queue reports msg as queued: no peer of the room was there to take it.
// The next sync with a peer of the room hands it over (flushOutbox).
func (n *Node) queue(ctx context.Context, msg protocol.Message) {
	n.mu.Lock()
	n.queued[msg.Room] = append(n.queued[msg.Room], msg)
	n.mu.Unlock()
	zero := 0
	n.appendEvent(ctx, protocol.Event{Type: protocol.EventMessageStatus, Room: msg.Room, ID: msg.ID, Status: protocol.MessageQueued, Delivered: &zero, Read: &zero})
}

// flushOutbox reports the queued messages of room as sent: a sync with a
// peer of the room has just completed, so that peer holds them.
func (n *Node) flushOutbox(ctx context.Context, room string) {
	n.mu.Lock()
	msgs := n.queued[room]
	delete(n.queued, room)
	n.mu.Unlock()
	for _, m := range msgs {
		zero := 0
		n.appendEvent(ctx, protocol.Event{Type: protocol.EventMessageStatus, Room: room, ID: m.ID, Status: protocol.MessageSent, Delivered: &zero, Read: &zero})
	}
}
