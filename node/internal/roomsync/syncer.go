package roomsync

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/events"
	"github.com/peerchat/peerchat/node/internal/intake"
	"github.com/peerchat/peerchat/node/internal/metrics"
	"github.com/peerchat/peerchat/node/internal/tasks"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// syncKey names one reconciliation: a room with a peer.
type syncKey struct {
	room string
	peer peer.ID
}

// Intake is the path every envelope from a peer takes (intake.Intake).
type Intake interface {
	Check(room string, data []byte) (*intake.Received, error)
	Accept(ctx context.Context, room string, rcv *intake.Received)
}

// Rooms is what sync needs of the joined rooms.
type Rooms interface {
	Joined(room string) error
	PeersByRoom() map[string][]peer.ID
}

// Config configures a Syncer. Every func and pointer is required; the
// zero values of Limit, Interval, LegacyOnly and RangesOnly are what users
// run.
type Config struct {
	Host    host.Host
	Store   *store.Store
	Rooms   Rooms
	Intake  Intake
	Events  *events.Log
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Tasks   *tasks.Group
	// Limit is the per-author rate limit, applied to a run's messages by
	// their send times (abuse.SentAtLimit).
	Limit abuse.RateLimit
	// Horizon is a room's retention horizon (retention.Keeper).
	Horizon func(room string) uint64
	// CutOff reports a peer punished for flooding: sync neither starts
	// nor serves a run with it.
	CutOff func(peer.ID) bool
	// KnownMarker reports a receipt that cannot move a held marker, which
	// is skipped before its signature is checked (signals.KnownMarker).
	KnownMarker func(room string, data []byte) bool
	// Drops are the syncs gossipsub's tracer asks for (Drops.Tracer).
	Drops *Drops
	// Synced is called after every run that completed with a peer of
	// room: the peer now holds what this node holds (sender.Synced).
	Synced func(ctx context.Context, room string)
	// Stream, when set, wraps every sync stream, opened or served (the
	// push role counts what is written on limited relayed circuits).
	Stream func(network.Stream) network.Stream
	// Interval is the time between periodic syncs; zero means 10 s.
	Interval time.Duration
	// LegacyOnly makes the node speak only /peerchat/sync/1.0.0, as nodes
	// did before 1.1.0; tests use it to prove the two interoperate.
	LegacyOnly bool
	// RangesOnly makes a 1.1.0 initiator skip the sketch tables and
	// reconcile ranges at once, as it does when tables fail to peel.
	RangesOnly bool
}

// Syncer reconciles each joined room's history with the room's peers: when
// a peer joins the room's topic, when gossipsub drops a peer's message
// unread, and every Interval with one random peer of each room.
type Syncer struct {
	cfg     Config
	ctx     context.Context // the tasks' context
	host    host.Host
	store   *store.Store
	rooms   Rooms
	intake  Intake
	events  *events.Log
	metrics *metrics.Metrics
	log     *slog.Logger
	tasks   *tasks.Group
	// dropped carries sync requests from gossipsub's event loop to the
	// goroutine that starts them (see Drops).
	dropped <-chan syncKey
	// refused carries the pairs Refused names to startRefused.
	refused chan syncKey
	runs    syncTracker

	mu sync.Mutex
	// syncing holds the room/peer pairs being reconciled; false means
	// "run once more when done". Guarded by mu.
	syncing map[syncKey]bool
}

// New returns the syncer of cfg; Start serves and starts it.
func New(cfg Config) *Syncer {
	return &Syncer{
		cfg: cfg, ctx: cfg.Tasks.Context(), host: cfg.Host, store: cfg.Store, rooms: cfg.Rooms, intake: cfg.Intake,
		events: cfg.Events, metrics: cfg.Metrics, log: cfg.Log, tasks: cfg.Tasks,
		dropped: cfg.Drops.ch, refused: make(chan syncKey, 256), syncing: map[syncKey]bool{},
	}
}

// Start serves the sync protocols and starts the periodic sync loop and
// the one that starts the syncs Tracer asks for.
func (sy *Syncer) Start() {
	for _, proto := range sy.Protocols() {
		sy.host.SetStreamHandler(proto, func(s network.Stream) {
			if sy.cfg.CutOff(s.Conn().RemotePeer()) {
				s.Reset()
				return
			}
			// The handler's own goroutine belongs to libp2p; the work is
			// tracked so that closing waits for it before closing the store.
			if !sy.tasks.Serve(func() { sy.serve(sy.wrap(s)) }) {
				s.Reset()
			}
		})
	}
	sy.tasks.Go(func() { sy.syncPeriodically(sy.ctx) })
	sy.tasks.Go(func() { sy.startRefused(sy.ctx) })
	sy.tasks.Go(func() {
		for {
			select {
			case <-sy.ctx.Done():
				return
			case k := <-sy.dropped:
				sy.Request(k.room, k.peer)
			}
		}
	})
}

// wrap applies Config.Stream to s.
func (sy *Syncer) wrap(s network.Stream) network.Stream {
	if sy.cfg.Stream == nil {
		return s
	}
	return sy.cfg.Stream(s)
}

// Protocols lists the sync protocols this node speaks, preferred first:
// 1.1.0 costs bytes in proportion to the difference, and 1.0.0 is kept for
// peers that predate it.
func (sy *Syncer) Protocols() []libp2pprotocol.ID {
	if sy.cfg.LegacyOnly {
		return []libp2pprotocol.ID{protocol.SyncProtocol}
	}
	return []libp2pprotocol.ID{protocol.SyncSketchProtocol, protocol.SyncProtocol}
}

// PeerJoined reconciles room with p, which just joined the room's topic:
// that is how messages sent before the gossip mesh formed still reach the
// peers that were connected. One run reconciles both ways, so only the
// peer with the smaller ID starts it: two runs at once would carry every
// missing envelope twice.
func (sy *Syncer) PeerJoined(room string, p peer.ID) {
	if sy.host.ID() < p {
		sy.Request(room, p)
	}
}

// Request reconciles room with p in the background. A request for a pair
// already being synced marks it to run once more when that finishes, so
// nothing sent in the meantime is missed and no pair runs twice at once.
func (sy *Syncer) Request(room string, p peer.ID) {
	if sy.cfg.CutOff(p) {
		return
	}
	k := syncKey{room, p}
	sy.mu.Lock()
	if _, ok := sy.syncing[k]; ok {
		sy.syncing[k] = false // run once more; harmless if already marked
		sy.mu.Unlock()
		return
	}
	sy.syncing[k] = true
	sy.mu.Unlock()
	started := sy.tasks.Go(func() {
		for {
			if err := sy.SyncWith(sy.ctx, room, p); err != nil && sy.ctx.Err() == nil {
				sy.log.Debug("sync failed", "room", room, "peer", p, "err", err)
			}
			sy.mu.Lock()
			again := !sy.syncing[k]
			if !again || sy.ctx.Err() != nil {
				delete(sy.syncing, k)
				sy.mu.Unlock()
				return
			}
			sy.syncing[k] = true
			sy.mu.Unlock()
		}
	})
	if !started { // closing
		sy.mu.Lock()
		delete(sy.syncing, k)
		sy.mu.Unlock()
	}
}

// claimSync marks a pair as being synced by a run this node serves, so
// that a request for the same pair meanwhile (the periodic sync picking
// this peer, a drop noticed on gossip) waits for it instead of starting a
// second run in parallel that carries the envelopes still in flight once
// more. release starts the request queued meanwhile, if any. When this node
// already runs a sync with the peer itself, the pair is that run's.
func (sy *Syncer) claimSync(k syncKey) (release func()) {
	sy.mu.Lock()
	defer sy.mu.Unlock()
	if _, ok := sy.syncing[k]; ok {
		return func() {}
	}
	sy.syncing[k] = true
	return func() {
		sy.mu.Lock()
		again := !sy.syncing[k]
		delete(sy.syncing, k)
		sy.mu.Unlock()
		if again {
			sy.Request(k.room, k.peer)
		}
	}
}

// syncPeriodically reconciles each room with one random peer of the room
// every Interval, as a safety net for anything gossip dropped.
func (sy *Syncer) syncPeriodically(ctx context.Context) {
	every := syncInterval
	if sy.cfg.Interval > 0 {
		every = sy.cfg.Interval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for room, peers := range sy.rooms.PeersByRoom() {
			if len(peers) > 0 {
				sy.Request(room, peers[rand.N(len(peers))])
			}
		}
	}
}

// LockForTest holds the syncer's lock until unlock is called, for tests
// that prove nothing on gossipsub's event loop waits for it.
func (sy *Syncer) LockForTest() (unlock func()) {
	sy.mu.Lock()
	return sy.mu.Unlock
}

// CutOff reports whether sync refuses p, punished for flooding, both ways.
func (sy *Syncer) CutOff(p peer.ID) bool { return sy.cfg.CutOff(p) }
