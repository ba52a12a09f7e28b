package node

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// room is a joined room: its gossipsub topic, the subscription and the two
// goroutines that read it (messages, and peers joining the topic).
type room struct {
	name   string
	topic  *pubsub.Topic
	sub    *pubsub.Subscription
	events *pubsub.TopicEventHandler
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// received is what the topic validator hands to the read loop, so that an
// envelope is decoded and verified once.
type received struct {
	env *protocol.Envelope
	msg protocol.Message
}

// RoomInfo describes a joined room.
type RoomInfo struct {
	Name  string `json:"room"`
	Peers int    `json:"peers"`
}

// JoinRoom joins room and remembers it across restarts. Joining a room
// already joined does nothing.
func (n *Node) JoinRoom(ctx context.Context, name string) error {
	if err := protocol.ValidateRoomName(name); err != nil {
		return &Error{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctx.Err() != nil {
		return Errorf(CodeUnavailable, "node is shutting down")
	}
	if _, ok := n.rooms[name]; ok {
		return nil
	}
	if err := n.store.SetJoined(ctx, name, true); err != nil {
		return Errorf(CodeUnavailable, "remember room %s: %w", name, err)
	}
	r, err := n.openRoom(name)
	if err != nil {
		return err
	}
	n.rooms[name] = r
	return nil
}

func (n *Node) openRoom(name string) (*room, error) {
	topicName := protocol.Topic(name)
	if err := n.pubsub.RegisterTopicValidator(topicName, n.validator(name)); err != nil {
		return nil, Errorf(CodeInternal, "register validator for %s: %w", name, err)
	}
	topic, err := n.pubsub.Join(topicName)
	if err != nil {
		n.pubsub.UnregisterTopicValidator(topicName)
		return nil, Errorf(CodeInternal, "join topic %s: %w", name, err)
	}
	events, err := topic.EventHandler()
	if err != nil {
		topic.Close()
		n.pubsub.UnregisterTopicValidator(topicName)
		return nil, Errorf(CodeInternal, "watch topic %s: %w", name, err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(4096))
	if err != nil {
		events.Cancel()
		topic.Close()
		n.pubsub.UnregisterTopicValidator(topicName)
		return nil, Errorf(CodeInternal, "subscribe to %s: %w", name, err)
	}
	ctx, cancel := context.WithCancel(n.ctx)
	r := &room{name: name, topic: topic, sub: sub, events: events, cancel: cancel}
	r.wg.Add(2)
	go func() { defer r.wg.Done(); n.readRoom(ctx, r) }()
	go func() { defer r.wg.Done(); n.watchRoomPeers(ctx, r) }()
	return r, nil
}

func (r *room) close() {
	r.cancel()
	r.sub.Cancel()
	r.events.Cancel()
	r.wg.Wait()
	r.topic.Close()
}

// LeaveRoom leaves room. Its history stays stored.
func (n *Node) LeaveRoom(ctx context.Context, name string) error {
	if err := protocol.ValidateRoomName(name); err != nil {
		return &Error{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	n.mu.Lock()
	r, ok := n.rooms[name]
	delete(n.rooms, name)
	n.mu.Unlock()
	if !ok {
		return Errorf(CodeNotFound, "room %s is not joined", name)
	}
	r.close()
	n.pubsub.UnregisterTopicValidator(protocol.Topic(name))
	if err := n.store.SetJoined(ctx, name, false); err != nil {
		return Errorf(CodeUnavailable, "forget room %s: %w", name, err)
	}
	return nil
}

// Rooms lists the joined rooms with how many peers are in each.
func (n *Node) Rooms() []RoomInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]RoomInfo, 0, len(n.rooms))
	for name, r := range n.rooms {
		out = append(out, RoomInfo{Name: name, Peers: len(r.topic.ListPeers())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// joined returns the room if it is joined.
func (n *Node) joined(name string) (*room, error) {
	if err := protocol.ValidateRoomName(name); err != nil {
		return nil, &Error{Code: CodeInvalid, Message: err.Error(), Err: err}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.rooms[name]
	if !ok {
		return nil, Errorf(CodeNotFound, "room %s is not joined", name)
	}
	return r, nil
}

// validator checks every envelope gossiped in room before gossipsub stores
// or forwards it. Invalid envelopes are rejected (which also lowers the
// sender's score) and counted by reason.
func (n *Node) validator(roomName string) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if from == n.host.ID() {
			return pubsub.ValidationAccept // our own send, stored before it was published
		}
		rcv, err := n.checkEnvelope(roomName, m.Data)
		if err != nil {
			return pubsub.ValidationReject
		}
		m.ValidatorData = rcv
		return pubsub.ValidationAccept
	}
}

// checkEnvelope decodes and verifies an envelope that claims to belong to
// roomName, counting the reason when it is refused.
func (n *Node) checkEnvelope(roomName string, data []byte) (*received, error) {
	env, err := protocol.Decode(data)
	if err == nil {
		err = env.Validate(roomName, time.Now())
	}
	var msg protocol.Message
	if err == nil {
		msg, err = protocol.MessageFromEnvelope(env)
	}
	if err != nil {
		n.metrics.rejected.WithLabelValues(rejectReason(err)).Inc()
		n.log.Debug("envelope rejected", "room", roomName, "err", err)
		return nil, err
	}
	return &received{env: env, msg: msg}, nil
}

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
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "malformed"
}

// readRoom stores every valid envelope gossiped in the room. It does not
// wait for the disk: the store groups these writes into synced batches.
func (n *Node) readRoom(ctx context.Context, r *room) {
	for {
		m, err := r.sub.Next(ctx)
		if err != nil {
			return
		}
		rcv, ok := m.ValidatorData.(*received)
		if !ok {
			continue // our own message, already stored
		}
		n.accept(ctx, rcv)
	}
}

// accept stores an envelope that passed validation, from gossip or sync.
func (n *Node) accept(ctx context.Context, rcv *received) {
	n.metrics.received.Inc()
	n.noteName(rcv.env.Author, rcv.msg.AuthorName)
	n.store.ObserveLamport(rcv.env.Lamport)
	if err := n.store.AddMessageAsync(ctx, rcv.env, rcv.msg); err != nil && ctx.Err() == nil {
		n.log.Warn("store received message", "id", rcv.msg.ID, "err", err)
	}
}

// watchRoomPeers reconciles history with every peer that joins the room's
// topic, which is how messages sent before the gossip mesh formed still
// reach the peers that were connected.
func (n *Node) watchRoomPeers(ctx context.Context, r *room) {
	for {
		ev, err := r.events.NextPeerEvent(ctx)
		if err != nil {
			return
		}
		if ev.Type == pubsub.PeerJoin {
			n.requestSync(r.name, ev.Peer)
		}
	}
}

func (n *Node) noteName(p peer.ID, name string) {
	if name == "" {
		return
	}
	n.mu.Lock()
	n.names[p] = name
	n.mu.Unlock()
}
