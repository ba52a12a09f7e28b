// Package node is a peerchat node: a libp2p host with a persistent
// identity, rooms carried over gossipsub, signed history kept in a
// datastore, discovery on the LAN and through bootstrap peers, and an event
// log for UIs. Go programs embed it directly; the HTTP API in node/api is a
// thin layer over it.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Version is the node's software version, reported by the API.
const Version = "0.1.0"

// DefaultMDNSService is the mDNS service name peerchat nodes announce.
const DefaultMDNSService = "peerchat"

// Config configures a Node. Only DataDir is required; every other zero
// value picks a sensible default.
type Config struct {
	// DataDir holds the identity key, the datastore and the API token.
	DataDir string
	// Name is the display name sent with messages. Empty means the host name.
	Name string
	// ListenAddrs are multiaddrs to listen on. Empty means TCP and QUIC on
	// every interface, on ports the system picks.
	ListenAddrs []string
	// Bootstrap peers are dialled at start and kept connected.
	Bootstrap []string
	// NoMDNS turns LAN discovery off.
	NoMDNS bool
	// MDNSService overrides the mDNS service name (tests use it to keep
	// unrelated nodes apart). Empty means DefaultMDNSService.
	MDNSService string
	// Rooms are joined at start, in addition to those remembered.
	Rooms []string
	// MaxEvents bounds the event log; zero means the store's default.
	MaxEvents int
	// MinFreeBytes is the disk space below which writes are refused with a
	// clear error; zero means the store's default (64 MiB).
	MinFreeBytes int64
	// RateLimit bounds how fast one author may post into a room.
	RateLimit RateLimit
	// Retention bounds each room's stored history (a store node's setting).
	// The zero value keeps everything.
	Retention store.Retention
	// Logger receives the node's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Registry receives the node's metrics. Nil means they are not exported.
	Registry prometheus.Registerer
	// Relays are circuit relay addresses, each ending in /p2p/ID, that the
	// node keeps a reservation with and finds room peers through (see
	// relayclient.go).
	Relays []string
	// HostOptions and PubSubOptions are added to the libp2p host's and
	// gossipsub's options; the relay service (package relay) uses them.
	HostOptions   []libp2p.Option
	PubSubOptions []pubsub.Option

	// legacySyncOnly makes the node speak only /peerchat/sync/1.0.0, as
	// nodes did before 1.1.0; tests use it to prove the two interoperate.
	legacySyncOnly bool
	// sketchFallback makes the node, as a 1.1.0 initiator, skip the
	// sketch tables and reconcile ranges at once, as it does when tables
	// fail to peel; tests use it to cover the fallback.
	sketchFallback bool
	// syncInterval, when set, replaces the 10 s between periodic syncs,
	// for tests that count what one sync run takes.
	syncInterval time.Duration
}

// Node is a running peerchat node. Its methods are safe for concurrent use.
type Node struct {
	cfg     Config
	log     *slog.Logger
	key     crypto.PrivKey
	host    host.Host
	pubsub  *pubsub.PubSub
	store   *store.Store
	metrics *metrics
	dialer  *dialer
	gater   *gater
	limits  authorLimits
	own     ownLimits
	// overLimit scores down peers that forward envelopes beyond the rate
	// limit.
	overLimit *overLimitPeers
	mdns      mdns.Service
	relay     *relayClient

	ctx    context.Context // ends when Close starts
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the node starts, via goTracked
	closed bool           // set by Close, guarded by mu: no new goroutines after it

	mu    sync.Mutex
	rooms map[string]*room // guarded by mu
	names map[peer.ID]string
	// syncing holds the room/peer pairs being reconciled; false means
	// "run once more when done". Guarded by mu.
	syncing map[syncKey]bool
	// syncDropped carries sync requests from gossipsub's event loop to
	// the goroutine that starts them (see syncOnDrop).
	syncDropped chan syncKey
	// queued holds the local user's messages sent while the room had no
	// peer, per room, until a sync hands them over. Guarded by mu.
	queued map[string][]protocol.Message
	// horizons caches each joined room's retention horizon. Guarded by mu.
	horizons map[string]uint64

	syncs    syncTracker
	typing   typingState
	presence presenceState
	receipts receiptState
}

// New starts a node. The context bounds start-up only; Close stops the
// node.
func New(ctx context.Context, cfg Config) (n *Node, err error) {
	if cfg.DataDir == "" {
		return nil, Errorf(CodeInvalid, "a data folder is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
		if cfg.Name == "" {
			cfg.Name = "peerchat"
		}
	}
	if cfg.MDNSService == "" {
		cfg.MDNSService = DefaultMDNSService
	}
	for _, r := range cfg.Rooms {
		if err := protocol.ValidateRoomName(r); err != nil {
			return nil, Errorf(CodeInvalid, "room %q: %w", r, err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	key, err := loadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, "store"), store.Options{MaxEvents: cfg.MaxEvents, Logger: cfg.Logger, MinFreeBytes: cfg.MinFreeBytes})
	if err != nil {
		return nil, err
	}
	n = &Node{
		cfg:         cfg,
		log:         cfg.Logger,
		key:         key,
		store:       st,
		metrics:     newMetrics(cfg.Registry, st),
		gater:       newGater(),
		limits:      newAuthorLimits(cfg.RateLimit),
		own:         newOwnLimits(cfg.RateLimit),
		overLimit:   newOverLimitPeers(cfg.RateLimit),
		rooms:       map[string]*room{},
		names:       map[peer.ID]string{},
		queued:      map[string][]protocol.Message{},
		horizons:    map[string]uint64{},
		syncDropped: make(chan syncKey, 64),
		typing:      typingState{lastSent: map[string]time.Time{}, until: map[syncKey]time.Time{}},
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err = n.startHost(key); err != nil {
		return nil, err
	}
	psOpts := []pubsub.Option{
		pubsub.WithPeerScore(peerScoreParams(n.overLimit.score), peerScoreThresholds()),
		pubsub.WithRawTracer(syncOnDrop{dropped: n.syncDropped}),
		pubsub.WithAppSpecificRpcInspector(n.dropOverLimit),
	}
	if n.pubsub, err = newPubSub(n.ctx, n.host, append(psOpts, cfg.PubSubOptions...)...); err != nil {
		return nil, err
	}
	if err := n.loadPresence(ctx); err != nil {
		return nil, err
	}
	if err := n.loadReceipts(ctx); err != nil {
		return nil, err
	}
	n.dialer = newDialer(n.host, n.log)
	n.relay.start()
	n.startSync()
	n.goTracked(func() { n.dialer.run(n.ctx) })
	n.goTracked(func() { n.runRetention(n.ctx) })
	n.goTracked(func() { n.rememberPeers(n.ctx) })
	n.goTracked(func() { n.runPresence(n.ctx) })
	n.goTracked(func() { n.runDelivered(n.ctx) })

	if err := n.loadKnownPeers(ctx); err != nil {
		return nil, err
	}
	for _, s := range cfg.Bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, Errorf(CodeInvalid, "bootstrap address %q: %w", s, err)
		}
		n.dialer.want(*ai, 0)
	}
	remembered, err := st.JoinedRooms(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range append(remembered, cfg.Rooms...) {
		if err := n.JoinRoom(ctx, r); err != nil {
			return nil, err
		}
	}
	if !cfg.NoMDNS {
		n.mdns = mdns.NewMdnsService(n.host, cfg.MDNSService, mdnsNotifee{n})
		if err := n.mdns.Start(); err != nil {
			return nil, fmt.Errorf("start mDNS: %w", err)
		}
	}
	return n, nil
}

// Close leaves no goroutine behind: it stops discovery, the rooms, the
// dialer, the host and finally the store, which finishes queued writes.
func (n *Node) Close() error {
	n.sayGoodbye()
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	var errs []error
	if n.mdns != nil {
		errs = append(errs, n.mdns.Close())
	}
	n.mu.Lock()
	rooms := n.rooms
	n.rooms = map[string]*room{}
	n.mu.Unlock()
	for _, r := range rooms {
		r.close()
	}
	if n.host != nil {
		errs = append(errs, n.host.Close())
	}
	n.wg.Wait()
	errs = append(errs, n.store.Close())
	return errors.Join(errs...)
}

// ID returns the node's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Name returns the node's display name.
func (n *Node) Name() string { return n.cfg.Name }

// Host returns the node's libp2p host, for programs that add protocols.
func (n *Node) Host() host.Host { return n.host }

// Addrs returns the node's listen addresses, each with its /p2p/ part, ready
// to give to another node as a bootstrap address.
func (n *Node) Addrs() []ma.Multiaddr {
	ai := peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()}
	addrs, _ := peer.AddrInfoToP2pAddrs(&ai)
	return addrs
}

// sayGoodbye tells the rooms this node is going offline, so peers need not
// wait for its presence lease to run out. It is best effort.
func (n *Node) sayGoodbye() {
	if n.ctx == nil || n.ctx.Err() != nil || n.pubsub == nil {
		return
	}
	for _, name := range n.roomNames() {
		n.sendPresence(name, protocol.StatusOffline, 0, 0)
	}
}

// goTracked runs fn in a goroutine that Close waits for. It returns false,
// and runs nothing, once Close has begun: work that arrives during shutdown
// (a sync stream, a subscriber) is refused rather than racing the store's
// closing.
func (n *Node) goTracked(fn func()) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
	return true
}
