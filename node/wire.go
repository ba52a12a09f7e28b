package node

import (
	"context"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerchat/peerchat/node/gossip"
	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/events"
	"github.com/peerchat/peerchat/node/internal/intake"
	"github.com/peerchat/peerchat/node/internal/metrics"
	"github.com/peerchat/peerchat/node/internal/names"
	"github.com/peerchat/peerchat/node/internal/nat"
	"github.com/peerchat/peerchat/node/internal/peering"
	"github.com/peerchat/peerchat/node/internal/private"
	"github.com/peerchat/peerchat/node/internal/push"
	"github.com/peerchat/peerchat/node/internal/retention"
	"github.com/peerchat/peerchat/node/internal/rooms"
	"github.com/peerchat/peerchat/node/internal/roomsync"
	"github.com/peerchat/peerchat/node/internal/sender"
	"github.com/peerchat/peerchat/node/internal/signals"
	"github.com/peerchat/peerchat/protocol"
)

// wire builds every role of n, which holds its store and tasks, with
// name as the display name in use,
// and starts their goroutines. The roles meet through the funcs and small
// interfaces handed in here; the rooms' hooks close over roles built after
// them, because a room's validator needs the intake, the intake the
// signals and the signals the rooms, and gossipsub wants its tracer before
// any of them.
func wire(ctx context.Context, n *Node, key crypto.PrivKey, name string, o options) error {
	cfg, log, st := n.cfg, n.cfg.Logger, n.store
	ready := n.tasks.Context()
	m := metrics.New(cfg.Registry, st)
	guard := abuse.NewGuard(cfg.RateLimit, m.Reject, func(room string, from peer.ID) { n.syncer.Refused(room, from) })
	gater := abuse.NewGater()
	var err error
	if n.nat, err = nat.New(nat.Config{Relays: cfg.Relays, Log: log, Registry: cfg.Registry, Tasks: n.tasks}); err != nil {
		return err
	}
	if n.host, err = newHost(key, cfg, n.nat.AddrsFactory, gater); err != nil {
		return err
	}
	drops := roomsync.NewDrops()
	psOpts := []pubsub.Option{
		pubsub.WithPeerScore(abuse.PeerScoreParams(guard.Score), abuse.PeerScoreThresholds()),
		pubsub.WithRawTracer(drops.Tracer()),
		pubsub.WithAppSpecificRpcInspector(guard.InspectRPC),
	}
	if n.pubsub, err = gossip.New(ready, n.host, append(psOpts, cfg.PubSubOptions...)...); err != nil {
		return err
	}
	book, evlog := names.New(), events.New(st, log)
	n.retention = retention.New(st, cfg.Retention, log)
	var (
		in  *intake.Intake
		sig *signals.Signals
	)
	n.rooms = rooms.New(ready, n.pubsub, st, rooms.Hooks{
		Joining:    n.retention.Load,
		Validator:  func(room string) pubsub.ValidatorEx { return in.Validator(room) },
		Deliver:    func(ctx context.Context, room string, data any) { in.Deliver(ctx, room, data) },
		PeerJoined: func(room string, p peer.ID) { n.syncer.PeerJoined(room, p) },
		Announce:   func(ctx context.Context, room string, joined <-chan struct{}) { sig.AnnounceOnJoin(ctx, room, joined) },
		ExtraPeers: func(room string) []peer.ID { return n.push.Peers(room) },
		Published:  func(room string, data []byte) { n.push.Published(room, data) },
	})
	n.sender = sender.New(sender.Config{Key: key, Name: name, Store: st, Rooms: n.rooms, Limit: cfg.RateLimit, Metrics: m, Events: evlog, Log: log,
		Private: func(room string) bool { _, ok := n.private.Room(room); return ok }})
	if n.private, err = private.New(private.Config{Key: key, Store: st, Publisher: n.sender.Sealed()}); err != nil {
		return err
	}
	sig = signals.New(signals.Config{Self: n.host.ID(), Name: name, Store: st, Rooms: n.rooms, Sender: n.sender, Names: book, Events: evlog, Log: log})
	n.signals = sig
	in = intake.New(intake.Config{Self: n.host.ID(), Store: st, Guard: guard, Metrics: m, Names: book, Horizon: n.retention.Horizon, Signals: sig, Log: log, Private: n.private})
	n.intake = in
	n.syncer = roomsync.New(roomsync.Config{
		Host: n.host, Store: st, Rooms: n.rooms, Intake: in, Events: evlog, Metrics: m, Log: log, Tasks: n.tasks,
		Limit: cfg.RateLimit, Horizon: n.retention.Horizon, CutOff: guard.CutOff, KnownMarker: sig.KnownMarker,
		Drops: drops, Synced: n.sender.Synced, Stream: func(s network.Stream) network.Stream { return n.push.Wrap(s) },
		Interval: o.syncInterval, LegacyOnly: o.legacySyncOnly, RangesOnly: o.rangesOnly,
	})
	n.peering = peering.New(n.host, gater, st, book, log)
	n.push = push.New(push.Config{
		Host: n.host, Rooms: n.rooms, Intake: in, Take: guard.Take, Has: st.Has, CutOff: guard.CutOff,
		Sync: n.syncer.Request, Redial: func(ai peer.AddrInfo) { n.peering.Dialer().Want(ai, 0) },
		Reject: m.Reject, Registry: cfg.Registry, Log: log, Tasks: n.tasks,
	})
	if err := n.nat.Attach(n.host, n.peering.Dialer(), n.peering.IsBlocked, n.rooms.Names); err != nil {
		return err
	}
	if err := sig.Load(ready); err != nil {
		return err
	}
	if err := loadPrivate(ready, n); err != nil {
		return err
	}
	n.nat.Start()
	if err := startDiscovery(n); err != nil {
		return err
	}
	n.syncer.Start()
	n.push.Start()
	n.tasks.Go(func() { n.peering.Run(ready) })
	n.tasks.Go(func() { n.peering.WatchIdentified(ready, n.nat.Observe) })
	n.tasks.Go(func() { n.retention.Run(ready, n.rooms.Names) })
	n.tasks.Go(func() { sig.RunPresence(ready) })
	n.tasks.Go(func() { sig.RunDelivered(ready) })
	return nil
}

// hostOptions are the libp2p options the node adds to its host: the
// relay client, the relayed addresses it holds reservations for (addrs),
// the gater, and libp2p's own metrics on the node's registry or nowhere
// (never the global one).
func hostOptions(cfg Config, addrs func([]ma.Multiaddr) []ma.Multiaddr, gater *abuse.Gater) []libp2p.Option {
	opts := []libp2p.Option{
		libp2p.EnableRelay(),
		libp2p.AddrsFactory(addrs),
		libp2p.ConnectionGater(gater),
		libp2p.UserAgent(protocol.AgentVersion(Version)),
	}
	if cfg.Registry != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Registry))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	return append(opts, cfg.HostOptions...)
}
