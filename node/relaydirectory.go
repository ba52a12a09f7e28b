package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/peerchat/peerchat/protocol"
)

// RelayDirectoryProtocol is how a node asks a relay which peers it sees in
// the node's rooms (the wire format is protocol.RelayDirectoryProtocol's).
// The relay knows because every peer's gossipsub announces its room topics
// to it on connecting. The asker then dials those peers through the relay;
// DCUtR takes it from there. Addresses are the peer's public ones known to
// the relay, worth a direct dial before the relayed one.
const RelayDirectoryProtocol = protocol.RelayDirectoryProtocol

const (
	directoryTimeout = 10 * time.Second
	// directoryDialDelay lets the peer with the smaller ID dial first when
	// both learn of each other at once; two dials crossing produce two
	// relayed connections and two hole punches racing each other.
	directoryDialDelay = time.Second
)

// ServeRelayDirectory makes the node answer RelayDirectoryProtocol. A
// relay calls it. Anyone connected may ask, but only about rooms it names,
// and gossipsub already tells every connected peer the same: the relay
// reveals nothing a room member could not learn by joining.
func (n *Node) ServeRelayDirectory() {
	n.host.SetStreamHandler(RelayDirectoryProtocol, func(s network.Stream) {
		done := make(chan struct{})
		if !n.goTracked(func() { defer close(done); n.serveDirectory(s) }) {
			s.Reset()
			return
		}
		<-done
	})
}

func (n *Node) serveDirectory(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(directoryTimeout))
	rooms, err := protocol.ReadDirectoryRequest(s)
	if err != nil {
		s.Reset()
		return
	}
	asker := s.Conn().RemotePeer()
	resp := protocol.DirectoryResponse{Rooms: map[string][]protocol.DirectoryPeer{}}
	for _, room := range rooms {
		peers := n.pubsub.ListPeers(protocol.Topic(room))
		rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		list := []protocol.DirectoryPeer{}
		for _, p := range peers {
			if p == asker || len(list) == protocol.MaxDirectoryPeers {
				continue
			}
			dp := protocol.DirectoryPeer{ID: p.String()}
			for _, a := range n.host.Peerstore().Addrs(p) {
				if len(dp.Addrs) < protocol.MaxDirectoryAddrs && !isRelayed(a) && manet.IsPublicAddr(a) {
					dp.Addrs = append(dp.Addrs, a.String())
				}
			}
			list = append(list, dp)
		}
		resp.Rooms[room] = list
	}
	if err := json.NewEncoder(s).Encode(resp); err != nil {
		s.Reset()
	}
}

// queryDirectory asks relay ai for the peers of the node's rooms and
// makes each one wanted, reachable through that relay.
func (rc *relayClient) queryDirectory(ctx context.Context, ai peer.AddrInfo) error {
	ctx, cancel := context.WithTimeout(ctx, directoryTimeout)
	defer cancel()
	s, err := rc.n.host.NewStream(network.WithNoDial(ctx, "relay directory"), ai.ID, RelayDirectoryProtocol)
	if err != nil {
		return fmt.Errorf("open directory stream: %w", err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	w := bufio.NewWriter(s)
	asked := rc.n.roomNames()
	asked = asked[:min(len(asked), protocol.MaxDirectoryRooms)] // all a relay answers
	if err := json.NewEncoder(w).Encode(protocol.DirectoryRequest{Rooms: asked}); err != nil {
		s.Reset()
		return fmt.Errorf("send directory request: %w", err)
	}
	if err := w.Flush(); err != nil {
		s.Reset()
		return fmt.Errorf("send directory request: %w", err)
	}
	s.CloseWrite()
	entries, err := protocol.ReadDirectoryResponse(s, asked)
	if err != nil {
		s.Reset()
		return fmt.Errorf("read directory response: %w", err)
	}
	for _, e := range entries {
		rc.considerPeer(e.ID, e.Addrs, ai)
	}
	return nil
}

// considerPeer makes p, a room peer seen at relay ai, a wanted peer with
// its public addresses and its address through the relay. The dialer
// keeps it connected from then on, and falls back to the relayed address
// when a direct connection breaks.
func (rc *relayClient) considerPeer(p peer.ID, named []ma.Multiaddr, ai peer.AddrInfo) {
	h := rc.n.host
	if p == h.ID() || rc.n.gater.isBlocked(p) {
		return
	}
	var addrs []ma.Multiaddr
	for _, a := range named {
		if manet.IsPublicAddr(a) && !isRelayed(a) {
			addrs = append(addrs, a)
		}
	}
	addrs = append(addrs, circuitAddrs(ai.Addrs, ai.ID)...)
	connected := h.Network().Connectedness(p) == network.Connected
	if !connected {
		// A circuit that failed because p had no reservation yet puts the
		// address in libp2p's dial backoff for 5 s and more; the relay has
		// just said p is there, so try again now.
		if sw, ok := h.Network().(*swarm.Swarm); ok {
			sw.Backoff().Clear(p)
		}
	}
	rc.mu.Lock()
	limited := rc.slots[ai.ID].limited
	rc.mu.Unlock()
	if limited {
		// A limited relay's circuits leave the peer "limited", never
		// "connected", and the dialer would redial such a peer without
		// pause. One dial is enough: the circuit is only there for hole
		// punching, chat flows through the relay's own room membership.
		if h.ID() < p && h.Network().Connectedness(p) == network.NotConnected {
			rc.n.goTracked(func() {
				ctx, cancel := context.WithTimeout(rc.n.ctx, directoryTimeout)
				defer cancel()
				if err := h.Connect(ctx, peer.AddrInfo{ID: p, Addrs: addrs}); err != nil {
					rc.n.log.Debug("dial through limited relay", "peer", p, "err", err)
				}
			})
		}
		return
	}
	var delay time.Duration
	if h.ID() > p {
		delay = jitter(directoryDialDelay) + directoryDialDelay/2
	}
	rc.n.dialer.want(peer.AddrInfo{ID: p, Addrs: addrs}, delay)
}
