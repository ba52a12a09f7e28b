// Package node is a peerchat node: a libp2p host with a persistent
// identity, rooms carried over gossipsub, signed history kept in a
// datastore, discovery on the LAN and through bootstrap peers and relays,
// and an event log for UIs. Go programs embed it directly; the HTTP API in
// node/api is a thin layer over it.
//
// Node is a facade: New wires one package per role under node/internal
// (docs/architecture.md draws them), and each method hands the call to
// the role that owns it.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/intake"
	"github.com/peerchat/peerchat/node/internal/nat"
	"github.com/peerchat/peerchat/node/internal/peering"
	"github.com/peerchat/peerchat/node/internal/private"
	"github.com/peerchat/peerchat/node/internal/push"
	"github.com/peerchat/peerchat/node/internal/retention"
	"github.com/peerchat/peerchat/node/internal/rooms"
	"github.com/peerchat/peerchat/node/internal/roomsync"
	"github.com/peerchat/peerchat/node/internal/sender"
	"github.com/peerchat/peerchat/node/internal/signals"
	"github.com/peerchat/peerchat/node/internal/tasks"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Version is the node's software version, reported by the API and in the
// libp2p agent version (peerchat/VERSION).
const Version = "0.1.0"

// DefaultMDNSService is the mDNS service name peerchat nodes announce.
const DefaultMDNSService = "peerchat"

// RateLimit bounds how fast one author may post into one room, as seen by
// this node (see abuse.RateLimit for how).
type RateLimit = abuse.RateLimit

// Config configures a Node. Only DataDir is required; every other zero
// value picks a sensible default.
type Config struct {
	// DataDir holds the identity key, the datastore and the API token.
	DataDir string
	// Name is the display name sent with messages. Empty means the name
	// SetName saved in the data folder, or else the host name; a name given
	// here wins over the saved one (see name.go).
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
	// node keeps a reservation with and finds room peers through.
	Relays []string
	// DHT configures discovery across relays; the zero value runs it
	// whenever there are relays or bootstrap peers (see DHTConfig).
	DHT DHTConfig
	// HostOptions and PubSubOptions are added to the libp2p host's and
	// gossipsub's options; the relay service (package relay) uses them.
	HostOptions   []libp2p.Option
	PubSubOptions []pubsub.Option
}

// Node is a running peerchat node. Its methods are safe for concurrent use.
// Every field is set by New and not modified after; each role guards its
// own state.
type Node struct {
	cfg       Config
	host      host.Host
	pubsub    *pubsub.PubSub
	store     *store.Store
	tasks     *tasks.Group // every goroutine the node starts
	retention *retention.Keeper
	rooms     *rooms.Set
	push      *push.Push // the rooms' peers reached only over limited circuits
	intake    *intake.Intake
	sender    *sender.Sender
	private   *private.Private
	signals   *signals.Signals
	syncer    *roomsync.Syncer
	peering   *peering.Peering
	nat       *nat.Client
}

// New starts a node. The context bounds start-up only; Close stops the
// node. Options change what tests need changed; programs pass none.
func New(ctx context.Context, cfg Config, opts ...Option) (n *Node, err error) {
	if cfg.DataDir == "" {
		return nil, Errorf(CodeInvalid, "a data folder is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// cfg.Name stays as given: NameFromConfig tells it apart from a name
	// saved by SetName or the host name.
	name := cfg.Name
	if name == "" {
		saved, err := savedName(cfg.DataDir)
		if err != nil {
			cfg.Logger.Warn("the saved display name is not used", "err", err)
		}
		name = saved
	}
	if name == "" {
		name, _ = os.Hostname()
		if name == "" {
			name = "peerchat"
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
	var o options
	for _, opt := range opts {
		opt(&o)
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
	n = &Node{cfg: cfg, store: st, tasks: tasks.New()}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := wire(ctx, n, key, name, o); err != nil {
		return nil, err
	}
	return n, n.start(ctx)
}

// start connects the wired node to the world: known and bootstrap peers,
// the rooms to join, and mDNS.
func (n *Node) start(ctx context.Context) error {
	if err := n.peering.LoadKnown(ctx); err != nil {
		return err
	}
	if err := n.peering.Bootstrap(n.cfg.Bootstrap); err != nil {
		return Errorf(CodeInvalid, "%w", err)
	}
	remembered, err := n.store.JoinedRooms(ctx)
	if err != nil {
		return err
	}
	for _, r := range append(remembered, n.cfg.Rooms...) {
		if err := n.JoinRoom(ctx, r); err != nil {
			return err
		}
	}
	if !n.cfg.NoMDNS {
		return n.peering.StartMDNS(n.cfg.MDNSService)
	}
	return nil
}

// Close leaves no goroutine behind: it says goodbye in the rooms, stops
// discovery, the rooms and the host, waits for every goroutine and finally
// closes the store, which finishes queued writes.
func (n *Node) Close() error {
	if n.signals != nil {
		n.signals.Goodbye()
	}
	n.tasks.Stop()
	var errs []error
	if n.peering != nil {
		errs = append(errs, n.peering.Close())
	}
	if n.rooms != nil {
		n.rooms.Close()
	}
	if n.host != nil {
		errs = append(errs, n.host.Close())
	}
	n.tasks.Wait()
	errs = append(errs, n.store.Close())
	return errors.Join(errs...)
}

// ID returns the node's peer ID.
func (n *Node) ID() peer.ID { return n.host.ID() }

// Name returns the node's display name: the one in use, which SetName
// changes.
func (n *Node) Name() string { return n.signals.Name() }

// Host returns the node's libp2p host, for programs that add protocols.
func (n *Node) Host() host.Host { return n.host }

// PubSub returns the node's gossipsub, for programs that serve what it
// knows (a relay's room directory).
func (n *Node) PubSub() *pubsub.PubSub { return n.pubsub }

// Addrs returns the node's listen addresses, each with its /p2p/ part, ready
// to give to another node as a bootstrap address.
func (n *Node) Addrs() []ma.Multiaddr {
	ai := peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()}
	addrs, _ := peer.AddrInfoToP2pAddrs(&ai)
	return addrs
}
