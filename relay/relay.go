// Package relay runs a peerchat relay: a public node that peers behind NAT
// reserve a circuit relay v2 slot with, find each other through, and
// connect through until hole punching (DCUtR) gives them a direct link.
//
// A relay is a full peerchat node (package node) joined to the rooms it
// serves, with the relay service, the AutoNAT service and a room directory
// added to its host. Being a room member is what keeps chat flowing
// between peers that can never connect, even through relayed connections
// (symmetric NATs, a limited relay): gossip passes through the relay's own
// subscription, and the relay keeps the room's history for peers that
// were offline.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node"
)

type protocolID = protocol.ID

// DefaultListenAddrs are a relay's usual addresses: a fixed, well-known
// port on TCP and QUIC, IPv4 and IPv6, so that its address can be
// published and opened in a firewall.
var DefaultListenAddrs = []string{
	"/ip4/0.0.0.0/tcp/4001",
	"/ip4/0.0.0.0/udp/4001/quic-v1",
	"/ip6/::/tcp/4001",
	"/ip6/::/udp/4001/quic-v1",
}

// DefaultMaxRooms bounds the rooms a relay joins with AllRooms.
const DefaultMaxRooms = 1000

// Config configures a Relay. Only DataDir is required.
type Config struct {
	// DataDir holds the relay's identity key, which fixes its peer ID and
	// so its published address, and the history of the rooms it serves.
	DataDir string
	// Name is the display name the relay has in rooms. Empty means
	// "peerchat-relay".
	Name string
	// ListenAddrs are multiaddrs to listen on. Empty means
	// DefaultListenAddrs.
	ListenAddrs []string
	// Rooms are the rooms the relay joins and carries gossip for.
	Rooms []string
	// AllRooms makes the relay join every room a connected peer
	// subscribes to, up to MaxRooms (zero means DefaultMaxRooms).
	AllRooms bool
	MaxRooms int
	// Limits bound the relay service; the zero value is sized for chat.
	Limits Limits
	// Allow, when not empty, lists the only peers that may reserve a slot.
	// Anyone may still open a circuit to a peer that holds one: that peer
	// chose this relay.
	Allow []peer.ID
	// Bootstrap lists other relays (multiaddrs ending in /p2p/ID) this one
	// keeps connected and serves peerchat's DHT with: relays that do not
	// know each other split the DHT, and peers reserved on different
	// relays then never find each other.
	Bootstrap []string
	// DHTStore keeps the DHT records the relay serves; nil means memory.
	// Records live 30 minutes and are renewed by their owners every 10, so
	// a restart forgets little.
	DHTStore ds.Batching
	// Logger receives the relay's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Registry receives the relay's, the node's and libp2p's metrics. Nil
	// means they are not exported.
	Registry prometheus.Registerer
}

// Relay is a running relay. Close stops it.
type Relay struct {
	node    *node.Node
	svc     *relayv2.Relay
	log     *slog.Logger
	cfg     Config
	metrics *metrics
	dir     *directory

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[string]bool // rooms to join, for AllRooms; guarded by mu
	joined  map[string]bool // rooms joined; guarded by mu
	kick    chan struct{}
}

// New starts a relay. The context bounds start-up only.
func New(ctx context.Context, cfg Config) (*Relay, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("relay: a data folder is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Name == "" {
		cfg.Name = "peerchat-relay"
	}
	if len(cfg.ListenAddrs) == 0 {
		cfg.ListenAddrs = DefaultListenAddrs
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = DefaultMaxRooms
	}
	limits := cfg.Limits.WithDefaults()
	cfg.Limits = limits
	rm, err := limits.resourceManager()
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{
		log:     cfg.Logger,
		cfg:     cfg,
		metrics: newMetrics(),
		pending: map[string]bool{},
		joined:  map[string]bool{},
		kick:    make(chan struct{}, 1),
	}
	if cfg.AllRooms {
		r.metrics.rooms = r.wantRoom
	}
	r.metrics.register(cfg.Registry)
	n, err := node.New(ctx, node.Config{
		DataDir:     cfg.DataDir,
		Name:        cfg.Name,
		ListenAddrs: cfg.ListenAddrs,
		NoMDNS:      true,
		Rooms:       cfg.Rooms,
		Bootstrap:   cfg.Bootstrap,
		// A relay is reachable by definition: it serves the DHT that
		// peers behind NAT use as clients.
		DHT:      node.DHTConfig{Server: true, Datastore: cfg.DHTStore},
		Logger:   cfg.Logger,
		Registry: cfg.Registry,
		HostOptions: []libp2p.Option{
			libp2p.ResourceManager(rm),
			// AutoNAT service: peers learn from the relay whether they
			// are reachable. Identify, which tells them the address the
			// relay sees them at, is always on.
			libp2p.EnableNATService(),
		},
		PubSubOptions: []pubsub.Option{pubsub.WithRawTracer(r.metrics)},
	})
	if err != nil {
		// The host closes the resource manager; without a host it is ours.
		rm.Close()
		return nil, fmt.Errorf("relay: start node: %w", err)
	}
	r.node = n
	// The relay service is built directly: EnableRelayService would start
	// it only once AutoNAT has confirmed the host is public, which a relay
	// with few peers may wait for a long time, and it would use libp2p's
	// default limits (2 minutes, 128 KiB), which cut chat off.
	svc, err := relayv2.New(n.Host(),
		relayv2.WithResources(limits.resources()),
		relayv2.WithACL(newAllowList(cfg.Allow)),
		relayv2.WithMetricsTracer(r.metrics),
	)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("relay: start relay service: %w", err)
	}
	r.svc = svc
	r.dir = serveDirectory(n.Host(), n.PubSub())
	if cfg.Registry != nil {
		h := n.Host()
		cfg.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "peerchat_relay_peers",
			Help: "Peers connected to the relay.",
		}, func() float64 { return float64(len(h.Network().Peers())) }))
	}
	for _, room := range cfg.Rooms {
		r.joined[room] = true
	}
	for _, info := range n.Rooms() {
		r.joined[info.Name] = true
	}
	if len(cfg.Bootstrap) == 0 {
		r.log.Info("no other relay given with --bootstrap: unless another relay names this one, peers reserved on other relays are not found through this relay's DHT")
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if cfg.AllRooms {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.joinRooms(runCtx) }()
	}
	r.log.Info("relay started", "peer", n.ID(), "limited", limits.Limited(), "dht_bootstrap", len(cfg.Bootstrap),
		"max_reservations", limits.MaxReservations, "max_circuits", limits.MaxCircuits)
	return r, nil
}

// Node returns the peerchat node inside the relay.
func (r *Relay) Node() *node.Node { return r.node }

// ID returns the relay's peer ID.
func (r *Relay) ID() peer.ID { return r.node.ID() }

// Addrs returns the relay's addresses with its /p2p/ part, ready for a
// node's --relay flag.
func (r *Relay) Addrs() []ma.Multiaddr { return r.node.Addrs() }

// Limits returns the limits in force, defaults filled in.
func (r *Relay) Limits() Limits { return r.cfg.Limits }

// Close stops the relay service, then the node.
func (r *Relay) Close() error {
	r.cancel()
	r.wg.Wait()
	r.dir.stop()
	err := r.svc.Close()
	err = errors.Join(err, r.node.Close())
	r.dir.wait()
	return err
}

// wantRoom queues a room a peer subscribed to, for AllRooms. It runs in
// gossipsub's event loop, where joining would deadlock, so it only queues.
func (r *Relay) wantRoom(room string) {
	r.mu.Lock()
	if r.joined[room] || r.pending[room] || len(r.joined)+len(r.pending) >= r.cfg.MaxRooms {
		r.mu.Unlock()
		return
	}
	r.pending[room] = true
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// joinRooms joins the queued rooms until ctx ends.
func (r *Relay) joinRooms(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		r.mu.Lock()
		var rooms []string
		for room := range r.pending {
			rooms = append(rooms, room)
		}
		r.mu.Unlock()
		for _, room := range rooms {
			err := r.node.JoinRoom(ctx, room)
			r.mu.Lock()
			delete(r.pending, room)
			if err == nil {
				r.joined[room] = true
			}
			r.mu.Unlock()
			if err != nil {
				r.log.Debug("not joining room", "room", room, "err", err)
			} else {
				r.log.Info("joined room a peer uses", "room", room)
			}
		}
	}
}

// allowList is the relay's ACL: only listed peers may reserve.
type allowList map[peer.ID]bool

func newAllowList(ids []peer.ID) relayv2.ACLFilter {
	if len(ids) == 0 {
		return nil
	}
	l := allowList{}
	for _, id := range ids {
		l[id] = true
	}
	return l
}

func (l allowList) AllowReserve(p peer.ID, _ ma.Multiaddr) bool { return l[p] }

func (l allowList) AllowConnect(peer.ID, ma.Multiaddr, peer.ID) bool { return true }
