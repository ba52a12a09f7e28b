// Package rooms holds the joined rooms: each is a gossipsub topic with its
// validator, its subscription and the goroutines that read it (envelopes,
// and peers joining the topic). What to do with what arrives is handed in
// as Hooks, so this package knows gossipsub and nothing of chat.
package rooms

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Hooks are what a room calls. Each runs on the goroutine named.
type Hooks struct {
	// Joining runs as a room is joined, before its topic is, and may
	// refuse the join (the retention horizon is loaded here).
	Joining func(ctx context.Context, room string) error
	// Validator is the topic validator of room, run inline in gossipsub's
	// validation workers.
	Validator func(room string) pubsub.ValidatorEx
	// Deliver gets what Validator stored in a message's ValidatorData, on
	// the room's read loop; the node's own messages are not delivered.
	Deliver func(ctx context.Context, room string, data any)
	// PeerJoined is called on the room's peer watcher when a peer
	// subscribes to the room's topic.
	PeerJoined func(room string, p peer.ID)
	// Announce runs for as long as the room is joined, in a goroutine of
	// its own; joined holds at most one wake-up, so a burst of joins is one
	// wake.
	Announce func(ctx context.Context, room string, joined <-chan struct{})
	// ExtraPeers, when set, lists peers of room that gossipsub does not
	// see (those reached only over limited relayed circuits, by push);
	// Peers and PeersByRoom include them.
	ExtraPeers func(room string) []peer.ID
	// Published, when set, is called after each Publish with what was
	// published, on the publisher's goroutine; it must not block.
	Published func(room string, data []byte)
}

// Set is the joined rooms. Its methods are safe for concurrent use. None
// asks gossipsub anything while holding mu: gossipsub's event loop may be
// waiting for a caller that waits for mu.
type Set struct {
	ctx   context.Context // ends when the node closes
	ps    *pubsub.PubSub
	store *store.Store
	hooks Hooks

	mu    sync.Mutex
	rooms map[string]*room // guarded by mu
}

// room is a joined room: its topic, the subscription and the goroutines
// that read them.
type room struct {
	name   string
	topic  *pubsub.Topic
	sub    *pubsub.Subscription
	events *pubsub.TopicEventHandler
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// joined wakes hooks.Announce; it holds at most one wake-up.
	joined chan struct{}
}

// New returns an empty set. ctx bounds every room's goroutines.
func New(ctx context.Context, ps *pubsub.PubSub, st *store.Store, hooks Hooks) *Set {
	return &Set{ctx: ctx, ps: ps, store: st, hooks: hooks, rooms: map[string]*room{}}
}

// Join joins room and remembers it across restarts. Joining a room
// already joined does nothing.
func (s *Set) Join(ctx context.Context, name string) error {
	if err := protocol.ValidateRoomName(name); err != nil {
		return &fault.Error{Code: fault.CodeInvalid, Message: err.Error(), Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return fault.Errorf(fault.CodeUnavailable, "node is shutting down")
	}
	if _, ok := s.rooms[name]; ok {
		return nil
	}
	if err := s.store.SetJoined(ctx, name, true); err != nil {
		return fault.Errorf(fault.CodeUnavailable, "remember room %s: %w", name, err)
	}
	if err := s.hooks.Joining(ctx, name); err != nil {
		return fault.Errorf(fault.CodeUnavailable, "join %s: %w", name, err)
	}
	r, err := s.open(name)
	if err != nil {
		return err
	}
	s.rooms[name] = r
	return nil
}

func (s *Set) open(name string) (*room, error) {
	topicName := protocol.Topic(name)
	// Inline validation runs in gossipsub's validation workers instead of
	// a throttled goroutine per message, which drops messages in bursts.
	if err := s.ps.RegisterTopicValidator(topicName, s.hooks.Validator(name), pubsub.WithValidatorInline(true)); err != nil {
		return nil, fault.Errorf(fault.CodeInternal, "register validator for %s: %w", name, err)
	}
	topic, err := s.ps.Join(topicName)
	if err != nil {
		s.ps.UnregisterTopicValidator(topicName)
		return nil, fault.Errorf(fault.CodeInternal, "join topic %s: %w", name, err)
	}
	fail := func(format string, err error) (*room, error) {
		topic.Close()
		s.ps.UnregisterTopicValidator(topicName)
		return nil, fault.Errorf(fault.CodeInternal, format, name, err)
	}
	if err := topic.SetScoreParams(abuse.RoomScoreParams()); err != nil {
		return fail("score params for %s: %w", err)
	}
	events, err := topic.EventHandler()
	if err != nil {
		return fail("watch topic %s: %w", err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(4096))
	if err != nil {
		events.Cancel()
		return fail("subscribe to %s: %w", err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r := &room{name: name, topic: topic, sub: sub, events: events, cancel: cancel, joined: make(chan struct{}, 1)}
	r.wg.Add(3)
	go func() { defer r.wg.Done(); s.read(ctx, r) }()
	go func() { defer r.wg.Done(); s.watchPeers(ctx, r) }()
	go func() { defer r.wg.Done(); s.hooks.Announce(ctx, name, r.joined) }()
	return r, nil
}

func (r *room) close() {
	r.cancel()
	r.sub.Cancel()
	r.events.Cancel()
	r.wg.Wait()
	r.topic.Close()
}

// read hands every valid envelope gossiped in the room to Deliver.
func (s *Set) read(ctx context.Context, r *room) {
	for {
		m, err := r.sub.Next(ctx)
		if err != nil {
			return
		}
		if m.ValidatorData == nil {
			continue // our own message, already stored
		}
		s.hooks.Deliver(ctx, r.name, m.ValidatorData)
	}
}

// watchPeers reports every peer that joins the room's topic.
func (s *Set) watchPeers(ctx context.Context, r *room) {
	for {
		ev, err := r.events.NextPeerEvent(ctx)
		if err != nil {
			return
		}
		if ev.Type == pubsub.PeerJoin {
			s.hooks.PeerJoined(r.name, ev.Peer)
			select {
			case r.joined <- struct{}{}:
			default:
			}
		}
	}
}

// Leave leaves room. Its history stays stored.
func (s *Set) Leave(ctx context.Context, name string) error {
	if err := protocol.ValidateRoomName(name); err != nil {
		return &fault.Error{Code: fault.CodeInvalid, Message: err.Error(), Err: err}
	}
	s.mu.Lock()
	r, ok := s.rooms[name]
	delete(s.rooms, name)
	s.mu.Unlock()
	if !ok {
		return fault.Errorf(fault.CodeNotFound, "room %s is not joined", name)
	}
	r.close()
	s.ps.UnregisterTopicValidator(protocol.Topic(name))
	if err := s.store.SetJoined(ctx, name, false); err != nil {
		return fault.Errorf(fault.CodeUnavailable, "forget room %s: %w", name, err)
	}
	return nil
}

// Close leaves every room, keeping them joined for the next start.
func (s *Set) Close() {
	s.mu.Lock()
	rooms := s.rooms
	s.rooms = map[string]*room{}
	s.mu.Unlock()
	for _, r := range rooms {
		r.close()
	}
}

// Names lists the joined rooms, sorted.
func (s *Set) Names() []string {
	s.mu.Lock()
	out := make([]string, 0, len(s.rooms))
	for name := range s.rooms {
		out = append(out, name)
	}
	s.mu.Unlock()
	sort.Strings(out)
	return out
}

// Joined returns nil if room is a valid name of a joined room, or the
// error to show.
func (s *Set) Joined(name string) error {
	_, err := s.joined(name)
	return err
}

func (s *Set) joined(name string) (*room, error) {
	if err := protocol.ValidateRoomName(name); err != nil {
		return nil, &fault.Error{Code: fault.CodeInvalid, Message: err.Error(), Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[name]
	if !ok {
		return nil, fault.Errorf(fault.CodeNotFound, "room %s is not joined", name)
	}
	return r, nil
}

// Peers lists the peers in room's topic that this node is connected to,
// or none when room is not joined.
func (s *Set) Peers(room string) []peer.ID {
	r, err := s.joined(room)
	if err != nil {
		return nil
	}
	return s.withExtra(room, r.topic.ListPeers())
}

// withExtra adds the hooks' extra peers of room to peers.
func (s *Set) withExtra(room string, peers []peer.ID) []peer.ID {
	if s.hooks.ExtraPeers == nil {
		return peers
	}
	for _, p := range s.hooks.ExtraPeers(room) {
		if !slices.Contains(peers, p) {
			peers = append(peers, p)
		}
	}
	return peers
}

// PeersByRoom lists the peers of every joined room.
func (s *Set) PeersByRoom() map[string][]peer.ID {
	s.mu.Lock()
	rooms := maps.Clone(s.rooms)
	s.mu.Unlock()
	out := make(map[string][]peer.ID, len(rooms))
	for name, r := range rooms {
		out[name] = s.withExtra(name, r.topic.ListPeers())
	}
	return out
}

// Publish gossips data in room.
func (s *Set) Publish(ctx context.Context, room string, data []byte) error {
	r, err := s.joined(room)
	if err != nil {
		return err
	}
	if err := r.topic.Publish(ctx, data); err != nil {
		return err
	}
	if s.hooks.Published != nil {
		s.hooks.Published(room, data)
	}
	return nil
}
