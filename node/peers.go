package node

import (
	"context"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
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

// Peers lists the connected peers, with whether each link is direct or
// relayed. A peer with both kinds of connection counts as direct.
func (n *Node) Peers() []PeerInfo {
	var out []PeerInfo
	for _, p := range n.host.Network().Peers() {
		conns := n.host.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		kind, via := ConnRelayed, ""
		var addrs []string
		for _, c := range conns {
			addrs = append(addrs, c.RemoteMultiaddr().String())
			if !isRelayed(c.RemoteMultiaddr()) {
				kind = ConnDirect
			} else if via == "" {
				via = relayOf(c.RemoteMultiaddr())
			}
		}
		if kind == ConnDirect {
			via = ""
		}
		n.mu.Lock()
		name := n.names[p]
		n.mu.Unlock()
		out = append(out, PeerInfo{ID: p.String(), Name: name, Addrs: addrs, Connection: kind, Relay: via})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// rememberPeers saves every peerchat peer the node gets to know (one that
// speaks the sync protocol) with its addresses, and keeps it connected, so
// that a restarted node finds its peers again without discovery.
func (n *Node) rememberPeers(ctx context.Context) {
	sub, err := n.host.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		n.log.Warn("watch identified peers", "err", err)
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
			if !speaksPeerchat(ev.Protocols) {
				continue
			}
			addrs := addrsOf(n.host, ev.Peer)
			if len(addrs) == 0 {
				continue
			}
			n.dialer.want(peer.AddrInfo{ID: ev.Peer, Addrs: addrs}, maxRedial)
			strs := make([]string, len(addrs))
			for i, a := range addrs {
				strs[i] = a.String()
			}
			if err := n.store.SavePeer(ctx, ev.Peer.String(), strs); err != nil && ctx.Err() == nil {
				n.log.Warn("save peer", "peer", ev.Peer, "err", err)
			}
		}
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

// loadKnownPeers dials the peers saved by earlier runs.
func (n *Node) loadKnownPeers(ctx context.Context) error {
	known, err := n.store.KnownPeers(ctx)
	if err != nil {
		return err
	}
	for id, strs := range known {
		p, err := peer.Decode(id)
		if err != nil {
			continue
		}
		ai := peer.AddrInfo{ID: p}
		for _, s := range strs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		n.dialer.want(ai, jitter(time.Second))
	}
	return nil
}

// mdnsNotifee receives peers found on the LAN.
type mdnsNotifee struct{ n *Node }

// HandlePeerFound makes a found peer wanted. Both nodes find each other
// at the same instant, and simultaneous dials have been seen to collide
// (a TLS handshake confusion), so only the node with the smaller peer ID
// dials at once; the other waits a jittered moment and dials only if no
// connection has appeared by then.
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	n := m.n
	if ai.ID == n.host.ID() {
		return
	}
	var delay time.Duration
	if n.host.ID() > ai.ID {
		delay = 2*time.Second + rand.N(2*time.Second)
	}
	n.log.Debug("mDNS found peer", "peer", ai.ID)
	n.dialer.want(ai, delay)
}
