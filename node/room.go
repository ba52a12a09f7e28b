package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

	// peerJoined wakes announceOnJoin; it holds at most one wake-up, so a
	// burst of joins costs one announcement.
	peerJoined chan struct{}
}

// received is what the topic validator hands to the read loop, so that an
// envelope is decoded and verified once. Which body field is set depends
// on the envelope's kind.
type received struct {
	env      *protocol.Envelope
	msg      protocol.Message      // KindMessage
	typing   protocol.TypingBody   // KindTyping
	presence protocol.PresenceBody // KindPresence
	receipt  protocol.ReceiptBody  // KindReceipt
}

// RoomInfo describes a joined room.
type RoomInfo struct {
	Name   string `json:"room"`
	Peers  int    `json:"peers"`
	Unread int    `json:"unread"`
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
	horizon, err := n.store.Horizon(ctx, name)
	if err != nil {
		return Errorf(CodeUnavailable, "read horizon of %s: %w", name, err)
	}
	r, err := n.openRoom(name)
	if err != nil {
		return err
	}
	n.rooms[name] = r
	n.horizons[name] = horizon
	return nil
}

func (n *Node) openRoom(name string) (*room, error) {
	topicName := protocol.Topic(name)
	// Inline validation runs in gossipsub's validation workers instead of
	// a throttled goroutine per message, which drops messages in bursts.
	if err := n.pubsub.RegisterTopicValidator(topicName, n.validator(name), pubsub.WithValidatorInline(true)); err != nil {
		return nil, Errorf(CodeInternal, "register validator for %s: %w", name, err)
	}
	topic, err := n.pubsub.Join(topicName)
	if err != nil {
		n.pubsub.UnregisterTopicValidator(topicName)
		return nil, Errorf(CodeInternal, "join topic %s: %w", name, err)
	}
	if err := topic.SetScoreParams(roomScoreParams()); err != nil {
		topic.Close()
		n.pubsub.UnregisterTopicValidator(topicName)
		return nil, Errorf(CodeInternal, "score params for %s: %w", name, err)
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
	r := &room{name: name, topic: topic, sub: sub, events: events, cancel: cancel, peerJoined: make(chan struct{}, 1)}
	r.wg.Add(3)
	go func() { defer r.wg.Done(); n.readRoom(ctx, r) }()
	go func() { defer r.wg.Done(); n.watchRoomPeers(ctx, r) }()
	go func() { defer r.wg.Done(); n.announceOnJoin(ctx, r) }()
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

// Rooms lists the joined rooms with how many peers are in each and how
// many messages are unread.
func (n *Node) Rooms() []RoomInfo {
	rooms := n.joinedRooms()
	out := make([]RoomInfo, 0, len(rooms))
	for name, r := range rooms {
		out = append(out, RoomInfo{Name: name, Peers: len(r.topic.ListPeers())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		out[i].Unread, _ = n.Unread(n.ctx, out[i].Name)
	}
	return out
}

// roomNames lists the joined rooms, sorted, without the unread counts
// that Rooms computes by reading the store.
func (n *Node) roomNames() []string {
	n.mu.Lock()
	out := make([]string, 0, len(n.rooms))
	for name := range n.rooms {
		out = append(out, name)
	}
	n.mu.Unlock()
	sort.Strings(out)
	return out
}

// joined returns the room if it is joined.
// joinedRooms returns the joined rooms. Callers ask gossipsub about them
// after n.mu is released: gossipsub's event loop may be waiting for n.mu.
func (n *Node) joinedRooms() map[string]*room {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.rooms)
}

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
		// An author over its rate limit is dropped before its signature
		// is verified: a flood then costs a decode, not a verification.
		env, err := protocol.DecodeStored(m.Data)
		if err == nil && n.limits.exhausted(roomName, env.Author) {
			n.metrics.rejected.WithLabelValues("rate_limited").Inc()
			n.overLimit.noteOverLimit(from, roomName, env.Author)
			return pubsub.ValidationIgnore
		}
		if err == nil {
			err = env.Verify()
		}
		rcv, err := n.checkDecoded(roomName, env, err)
		if errors.Is(err, errStale) {
			return pubsub.ValidationIgnore // it may have gone stale on the way
		}
		if err != nil {
			return pubsub.ValidationReject
		}
		if env.Kind == protocol.KindMessage && n.stored(ctx, env) {
			// Gossipsub drops a message it saw in the last 2 minutes;
			// one already stored that comes again later is a replay (or
			// a copy of what sync brought first): neither forwarded nor
			// counted against its author, whose tokens a replayer would
			// otherwise spend.
			n.metrics.rejected.WithLabelValues("replay").Inc()
			return pubsub.ValidationIgnore
		}
		if !n.limits.allow(roomName, rcv.env.Author) {
			// Ignore, not Reject: the peer that forwarded it may be honest;
			// only one far beyond the limit is punished (overlimit.go).
			n.metrics.rejected.WithLabelValues("rate_limited").Inc()
			n.overLimit.noteOverLimit(from, roomName, rcv.env.Author)
			return pubsub.ValidationIgnore
		}
		m.ValidatorData = rcv
		return pubsub.ValidationAccept
	}
}

// stored reports whether env is in the store. A failed lookup says no:
// the envelope is then verified and stored as usual, and the store tells
// a duplicate apart itself.
func (n *Node) stored(ctx context.Context, env *protocol.Envelope) bool {
	has, err := n.store.Has(ctx, env.ID())
	return err == nil && has
}

// checkEnvelope decodes and verifies an envelope that claims to belong to
// roomName, counting the reason when it is refused.
func (n *Node) checkEnvelope(roomName string, data []byte) (*received, error) {
	env, err := protocol.Decode(data)
	return n.checkDecoded(roomName, env, err)
}

// checkDecoded finishes checkEnvelope for an envelope already decoded and
// verified, or not, as err says.
func (n *Node) checkDecoded(roomName string, env *protocol.Envelope, err error) (*received, error) {
	now := time.Now()
	if err == nil {
		err = env.Validate(roomName, now)
	}
	rcv := &received{env: env}
	if err == nil {
		switch env.Kind {
		case protocol.KindMessage:
			rcv.msg, err = protocol.MessageFromEnvelope(env)
		case protocol.KindTyping:
			rcv.typing, err = protocol.DecodeTyping(env)
		case protocol.KindPresence:
			rcv.presence, err = protocol.DecodePresence(env)
		case protocol.KindReceipt:
			rcv.receipt, err = protocol.DecodeReceipt(env)
		}
		if err == nil && protocol.Ephemeral(env.Kind) && env.SentAt.Before(now.Add(-protocol.MaxSignalAge)) {
			err = fmt.Errorf("%w: %s signal from %s", errStale, env.Kind, env.SentAt.Format(time.RFC3339))
		}
	}
	if err != nil {
		n.metrics.rejected.WithLabelValues(rejectReason(err)).Inc()
		n.log.Debug("envelope rejected", "room", roomName, "err", err)
		return nil, err
	}
	return rcv, nil
}

// errStale marks an ephemeral signal that arrived too late to mean anything.
var errStale = errors.New("stale signal")

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
		{errStale, "stale"},
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
		n.acceptEnvelope(ctx, r.name, rcv)
	}
}

// acceptEnvelope acts on a valid envelope from a peer, by gossip or sync.
func (n *Node) acceptEnvelope(ctx context.Context, room string, rcv *received) {
	switch rcv.env.Kind {
	case protocol.KindMessage:
		n.accept(ctx, rcv)
		n.clearTyping(ctx, room, rcv.env.Author)
		n.dueDelivered(room)
	case protocol.KindTyping:
		n.onTyping(ctx, room, rcv)
	case protocol.KindPresence:
		n.onPresence(ctx, room, rcv)
	case protocol.KindReceipt:
		n.onReceipt(ctx, room, rcv)
	}
}

// accept stores an envelope that passed validation, from gossip or sync,
// unless it lies below the room's retention horizon.
func (n *Node) accept(ctx context.Context, rcv *received) {
	if rcv.env.Lamport <= n.horizon(rcv.env.Room) {
		return
	}
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
			// One run reconciles both ways, so only the peer with the
			// smaller ID starts it: two runs at once would carry every
			// missing envelope twice.
			if n.ID() < ev.Peer {
				n.requestSync(r.name, ev.Peer)
			}
			select {
			case r.peerJoined <- struct{}{}:
			default:
			}
		}
	}
}

// announceOnJoin tells peers that joined the room who is here, without
// waiting for the next renewal. Joins come in bursts when a network forms
// (every node sees each of its links join), so announcements wait a
// jittered joinAnnounceDelay and cover every join seen meanwhile: one
// announcement per burst, not one per join per node. In a room too large
// for one presence period, every announcement costs every member a
// verification and joins never stop, so there they are also kept
// (k−1)·presenceEvery apart for a renewal period stretched k times: a
// newcomer to a large room learns who is present from the renewals.
func (n *Node) announceOnJoin(ctx context.Context, r *room) {
	var last time.Time // owned by this goroutine
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.peerJoined:
		}
		t := time.NewTimer(jitter(joinAnnounceDelay))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		select { // joins seen while waiting are covered by this announcement
		case <-r.peerJoined:
		default:
		}
		every, _ := presencePeriod(n.roomSize(r.name))
		if gap := every - presenceEvery; !last.IsZero() && time.Since(last) < gap {
			continue
		}
		last = time.Now()
		n.announcePresence(r.name)
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
