// Package push carries a room's envelopes to peers whose only link is a
// limited relayed connection (a stock circuit relay v2 with its default
// limits: 2 minutes and 128 KiB each way), on which neither gossipsub nor
// a plain NewStream run. Over /peerchat/push/1.0.0 each side tells the
// other its rooms and writes every envelope the local user publishes
// (messages, receipts, typing, presence); what arrives takes the intake's
// path, as gossip does. Sync runs on the same circuit (roomsync opens its
// streams with limited connections allowed, and this package counts their
// bytes), started whenever a new circuit's streams meet, so nothing lost
// in a reset stays lost. Every byte written on a circuit is counted, and
// no write that would reach the relay's data limit is made: the circuit
// is closed and a fresh one dialled instead. As soon as a direct link or
// an unlimited relayed one exists, push stops and gossip carries the room.
package push

import (
	"context"
	"log/slog"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerchat/peerchat/node/internal/intake"
	"github.com/peerchat/peerchat/node/internal/tasks"
	"github.com/peerchat/peerchat/protocol"
	"github.com/prometheus/client_golang/prometheus"
)

// Intake is the path of every envelope from a peer (intake.Intake).
type Intake interface {
	Check(room string, data []byte) (*intake.Received, error)
	Accept(ctx context.Context, room string, rcv *intake.Received)
}

// Rooms is what push needs of the joined rooms.
type Rooms interface {
	Names() []string
	Joined(room string) error
}

// Config is what a Push needs; every field is required but Registry.
type Config struct {
	Host   host.Host
	Rooms  Rooms
	Intake Intake
	// Take takes a token from author's bucket in room for an envelope
	// from a peer (abuse.Guard.Take): pushed envelopes count against the
	// same rate limit as gossiped ones.
	Take func(from peer.ID, room string, author peer.ID) bool
	// Has reports whether an envelope is stored (store.Store.Has): a
	// replayed message is dropped without spending its author's tokens.
	Has func(ctx context.Context, id protocol.ID) (bool, error)
	// CutOff reports a peer punished for flooding; push neither serves
	// nor opens streams with it.
	CutOff func(peer.ID) bool
	// Sync reconciles room with a peer (roomsync.Syncer.Request).
	Sync func(room string, p peer.ID)
	// Redial asks the dialer to connect to a peer again through the given
	// relayed address, after a circuit this node dialled was reset.
	Redial func(peer.AddrInfo)
	// Reject counts an envelope refused by reason (metrics.Reject).
	Reject   func(reason string)
	Registry prometheus.Registerer
	Log      *slog.Logger
	Tasks    *tasks.Group
}

// Push is the push role. Its methods are safe for concurrent use.
type Push struct {
	cfg     Config
	ctx     context.Context
	metrics *pushMetrics

	mu       sync.Mutex
	circuits map[string]*circuit // by connection ID; guarded by mu
	links    map[peer.ID]*link   // guarded by mu
}

// New returns the push role of cfg; Start serves it.
func New(cfg Config) *Push {
	return &Push{
		cfg: cfg, ctx: cfg.Tasks.Context(), metrics: newMetrics(cfg.Registry),
		circuits: map[string]*circuit{}, links: map[peer.ID]*link{},
	}
}

// Start serves the push protocol and watches connections.
func (p *Push) Start() {
	p.cfg.Host.SetStreamHandler(Protocol, func(s network.Stream) {
		if p.cfg.CutOff(s.Conn().RemotePeer()) {
			s.Reset()
			return
		}
		if !p.cfg.Tasks.Serve(func() { p.serve(s) }) {
			s.Reset()
		}
	})
	p.cfg.Host.Network().Notify(&network.NotifyBundle{
		ConnectedF:    func(_ network.Network, c network.Conn) { p.connected(c) },
		DisconnectedF: func(_ network.Network, c network.Conn) { p.disconnected(c) },
	})
	// Connections that opened before the notifiee was registered.
	for _, c := range p.cfg.Host.Network().Conns() {
		p.connected(c)
	}
}

// connected notes a limited circuit and starts pushing to its peer when
// it is the peer's only kind of link.
func (p *Push) connected(c network.Conn) {
	if c.Stat().Limited {
		ci := newCircuit(c)
		ci.counted = func(b int64) { p.metrics.circuitBytes.Add(float64(b)) }
		p.mu.Lock()
		p.circuits[c.ID()] = ci
		p.mu.Unlock()
		p.cfg.Log.Debug("limited relayed circuit open", "peer", c.RemotePeer(), "addr", c.RemoteMultiaddr(),
			"data_limit", ci.limit, "time_limit", ci.duration, "direction", c.Stat().Direction)
	}
	p.kick(c.RemotePeer())
}

// disconnected says in words why a circuit ended, counts it, and redials
// a circuit this node dialled when it was the last link to the peer.
func (p *Push) disconnected(c network.Conn) {
	p.mu.Lock()
	ci := p.circuits[c.ID()]
	delete(p.circuits, c.ID())
	p.mu.Unlock()
	pid := c.RemotePeer()
	if ci != nil {
		p.circuitClosed(ci)
		if c.Stat().Direction == network.DirOutbound && len(p.cfg.Host.Network().ConnsToPeer(pid)) == 0 && p.ctx.Err() == nil {
			p.cfg.Redial(peer.AddrInfo{ID: pid, Addrs: []ma.Multiaddr{c.RemoteMultiaddr()}})
		}
	}
	p.kick(pid)
}

// circuitOf returns the limited circuit s runs on, or nil.
func (p *Push) circuitOf(c network.Conn) *circuit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.circuits[c.ID()]
}

// Wrap counts what is written on s when it runs on a limited circuit, so
// that sync shares the circuit's budget; other streams are returned as
// they are. Roomsync wraps every sync stream with it.
func (p *Push) Wrap(s network.Stream) network.Stream {
	if p == nil {
		return s
	}
	ci := p.circuitOf(s.Conn())
	if ci == nil {
		return s
	}
	ci.chargeRaw(perStream) // if it does not fit, the first write fails
	return &countedStream{Stream: s, c: ci}
}

// spent closes a circuit whose budget is used up, once, so that a fresh
// one is dialled: the relay would stop forwarding at its limit, leaving a
// link that looks alive and carries nothing.
func (p *Push) spent(ci *circuit) {
	if !ci.renewing.CompareAndSwap(false, true) {
		return
	}
	p.cfg.Log.Info("relayed circuit's data budget spent; closing it to open a fresh one",
		"peer", ci.conn.RemotePeer(), "sent_bytes", ci.sent.Load(), "data_limit", ci.limit)
	p.cfg.Tasks.Go(func() { ci.conn.Close() })
}

// limitedOnly reports whether every link to pid is a limited circuit (and
// there is one): push then carries the room, gossip cannot.
func (p *Push) limitedOnly(pid peer.ID) bool {
	conns := p.cfg.Host.Network().ConnsToPeer(pid)
	for _, c := range conns {
		if !c.Stat().Limited {
			return false
		}
	}
	return len(conns) > 0
}

// bestCircuit returns the limited circuit to pid with the most budget
// left that is not being renewed, or nil.
func (p *Push) bestCircuit(pid peer.ID) *circuit {
	var best *circuit
	for _, c := range p.cfg.Host.Network().ConnsToPeer(pid) {
		ci := p.circuitOf(c)
		if ci == nil || ci.renewing.Load() || c.IsClosed() {
			continue
		}
		if best == nil || ci.left() > best.left() {
			best = ci
		}
	}
	return best
}

// Peers lists the peers of room that only push reaches: they are room
// peers for the room's count, presence, and the periodic sync, though
// gossipsub does not see them.
func (p *Push) Peers(room string) []peer.ID {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for _, l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	var out []peer.ID
	for _, l := range links {
		if l.inRoom(room) && p.limitedOnly(l.peer) {
			out = append(out, l.peer)
		}
	}
	return out
}

// Published pushes data, an envelope of the local user's just gossiped in
// room, to every limited-only peer of the room. It never blocks: a full
// queue drops the envelope, counted, and sync delivers it later.
func (p *Push) Published(room string, data []byte) {
	if p == nil {
		return
	}
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for _, l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		if !l.inRoom(room) || !p.limitedOnly(l.peer) {
			continue
		}
		select {
		case l.queue <- outFrame{room: room, data: data}:
			l.wakeUp()
		default:
			p.metrics.dropped.WithLabelValues("queue_full").Inc()
		}
	}
}
