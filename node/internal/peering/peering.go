// Package peering keeps the node connected to the peers it knows: peers
// found on the LAN by mDNS, bootstrap peers, and peers remembered from
// earlier runs, each redialled with backoff when it drops. It owns the
// node's one subscription to identify's events.
package peering

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/names"
	"github.com/peerchat/peerchat/node/store"
)

// Connection kinds reported for a peer.
const (
	ConnDirect  = "direct"
	ConnRelayed = "relayed"
)

// PeerInfo describes a connected peer.
type PeerInfo struct {
	ID         string   `json:"peer_id"`
	Name       string   `json:"name"`
	Addrs      []string `json:"addrs"`
	Connection string   `json:"connection"`
	// Relay is the peer ID of the relay a relayed link goes through.
	Relay string `json:"relay,omitempty"`
}

// Peering finds peers and keeps them connected. The fields are set by New
// and not modified after, except mdns, which only StartMDNS and Close use
// (both from the node's start and close).
type Peering struct {
	host   host.Host
	store  *store.Store
	names  *names.Book
	log    *slog.Logger
	gater  *abuse.Gater
	dialer *Dialer
	mdns   mdns.Service
}

// New returns the peering of h, whose connections gater guards; Run
// starts its dialer.
func New(h host.Host, gater *abuse.Gater, st *store.Store, book *names.Book, log *slog.Logger) *Peering {
	return &Peering{host: h, gater: gater, store: st, names: book, log: log, dialer: newDialer(h, log)}
}

// Block cuts p off: its connections are closed and refused both ways, and
// the node stops redialling it, until Unblock.
func (p *Peering) Block(id peer.ID) {
	p.gater.Set(id, true)
	p.dialer.Forget(id)
	p.host.Network().ClosePeer(id)
}

// Unblock lets p connect again. It does not dial p: Block made the node
// forget it, so the two connect again when either finds the other.
func (p *Peering) Unblock(id peer.ID) { p.gater.Set(id, false) }

// IsBlocked reports whether id is blocked.
func (p *Peering) IsBlocked(id peer.ID) bool { return p.gater.IsBlocked(id) }

// Dialer is the dialer that keeps wanted peers connected.
func (p *Peering) Dialer() *Dialer { return p.dialer }

// Run dials wanted peers until ctx ends.
func (p *Peering) Run(ctx context.Context) { p.dialer.run(ctx) }

// Bootstrap makes every address (each ending in /p2p/ID) wanted at once.
func (p *Peering) Bootstrap(addrs []string) error {
	for _, s := range addrs {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return fmt.Errorf("bootstrap address %q: %w", s, err)
		}
		p.dialer.Want(*ai, 0)
	}
	return nil
}

// Peers lists the connected peers, with whether each link is direct or
// relayed. A peer with both kinds of connection counts as direct.
func (p *Peering) Peers() []PeerInfo {
	var out []PeerInfo
	nw := p.host.Network()
	for _, id := range nw.Peers() {
		conns := nw.ConnsToPeer(id)
		if len(conns) == 0 {
			continue
		}
		kind, via := ConnRelayed, ""
		var addrs []string
		for _, c := range conns {
			addrs = append(addrs, c.RemoteMultiaddr().String())
			if !IsRelayed(c.RemoteMultiaddr()) {
				kind = ConnDirect
			} else if via == "" {
				via = RelayOf(c.RemoteMultiaddr())
			}
		}
		if kind == ConnDirect {
			via = ""
		}
		out = append(out, PeerInfo{ID: id.String(), Name: p.names.Name(id), Addrs: addrs, Connection: kind, Relay: via})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// WatchIdentified reads identify's completions until ctx ends. It saves
// every peerchat peer the node gets to know (one that speaks a
// /peerchat/ protocol) with its addresses, and keeps it connected, so that
// a restarted node finds its peers again without discovery. Every
// completion, peerchat's or not, is also handed to also (the NAT role
// learns its observed addresses from them), on this goroutine.
func (p *Peering) WatchIdentified(ctx context.Context, also func(event.EvtPeerIdentificationCompleted)) {
	sub, err := p.host.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		p.log.Warn("watch identified peers", "err", err)
		return
	}
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev := e.(event.EvtPeerIdentificationCompleted)
			if also != nil {
				also(ev)
			}
			p.remember(ctx, ev)
		}
	}
}

func (p *Peering) remember(ctx context.Context, ev event.EvtPeerIdentificationCompleted) {
	if !speaksPeerchat(ev.Protocols) {
		return
	}
	addrs := addrsOf(p.host, ev.Peer)
	if len(addrs) == 0 {
		return
	}
	p.dialer.Want(peer.AddrInfo{ID: ev.Peer, Addrs: addrs}, maxRedial)
	strs := make([]string, len(addrs))
	for i, a := range addrs {
		strs[i] = a.String()
	}
	if err := p.store.SavePeer(ctx, ev.Peer.String(), strs); err != nil && ctx.Err() == nil {
		p.log.Warn("save peer", "peer", ev.Peer, "err", err)
	}
}

func speaksPeerchat(protos []libp2pprotocol.ID) bool {
	for _, p := range protos {
		if strings.HasPrefix(string(p), "/peerchat/") {
			return true
		}
	}
	return false
}

// LoadKnown makes the peers saved by earlier runs wanted.
func (p *Peering) LoadKnown(ctx context.Context) error {
	known, err := p.store.KnownPeers(ctx)
	if err != nil {
		return err
	}
	for id, strs := range known {
		pid, err := peer.Decode(id)
		if err != nil {
			continue
		}
		ai := peer.AddrInfo{ID: pid}
		for _, s := range strs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		p.dialer.Want(ai, Jitter(time.Second))
	}
	return nil
}

// StartMDNS announces the node on the LAN under service and makes every
// peer found there wanted.
func (p *Peering) StartMDNS(service string) error {
	p.mdns = mdns.NewMdnsService(p.host, service, mdnsNotifee{p})
	if err := p.mdns.Start(); err != nil {
		return fmt.Errorf("start mDNS: %w", err)
	}
	return nil
}

// Close stops mDNS; the dialer stops with Run's context.
func (p *Peering) Close() error {
	if p.mdns == nil {
		return nil
	}
	return p.mdns.Close()
}

// mdnsNotifee receives peers found on the LAN.
type mdnsNotifee struct{ p *Peering }

// HandlePeerFound makes a found peer wanted. Both nodes find each other
// at the same instant, and simultaneous dials have been seen to collide
// (a TLS handshake confusion), so only the node with the smaller peer ID
// dials at once; the other waits a jittered moment and dials only if no
// connection has appeared by then.
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	self := m.p.host.ID()
	if ai.ID == self {
		return
	}
	var delay time.Duration
	if self > ai.ID {
		delay = 2*time.Second + rand.N(2*time.Second)
	}
	m.p.log.Debug("mDNS found peer", "peer", ai.ID)
	m.p.dialer.Want(ai, delay)
}

// IsRelayed reports whether a is a circuit relay address.
func IsRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// RelayOf returns the peer ID of the relay in a relayed address (the /p2p
// part just before /p2p-circuit), or "".
func RelayOf(a ma.Multiaddr) string {
	last := ""
	for _, c := range a {
		switch c.Code() {
		case ma.P_P2P:
			last = c.Value()
		case ma.P_CIRCUIT:
			return last
		}
	}
	return ""
}
