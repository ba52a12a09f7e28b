package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
// the node's rooms. The relay knows because every peer's gossipsub
// announces its room topics to it on connecting. The asker then dials
// those peers through the relay; DCUtR takes it from there.
//
// The exchange is one JSON request and one JSON response on a fresh
// stream: {"rooms":["lobby"]} and {"rooms":{"lobby":[{"id":...,
// "addrs":[...]}]}}. Addresses are the peer's public ones known to the
// relay, worth a direct dial before the relayed one.
const RelayDirectoryProtocol = "/peerchat/relay-directory/1.0.0"

const (
	directoryTimeout     = 10 * time.Second
	maxDirectoryRequest  = 16 << 10
	maxDirectoryResponse = 1 << 20
	maxDirectoryRooms    = 64
	maxDirectoryPeers    = 64 // per room
	maxDirectoryAddrs    = 8  // per peer
	// directoryDialDelay lets the peer with the smaller ID dial first when
	// both learn of each other at once; two dials crossing produce two
	// relayed connections and two hole punches racing each other.
	directoryDialDelay = time.Second
)

type directoryRequest struct {
	Rooms []string `json:"rooms"`
}

type directoryPeer struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs,omitempty"`
}

type directoryResponse struct {
	Rooms map[string][]directoryPeer `json:"rooms"`
}

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
	var req directoryRequest
	if err := json.NewDecoder(io.LimitReader(s, maxDirectoryRequest)).Decode(&req); err != nil {
		s.Reset()
		return
	}
	asker := s.Conn().RemotePeer()
	resp := directoryResponse{Rooms: map[string][]directoryPeer{}}
	for i, room := range req.Rooms {
		if i >= maxDirectoryRooms {
			break
		}
		if protocol.ValidateRoomName(room) != nil {
			continue
		}
		peers := n.pubsub.ListPeers(protocol.Topic(room))
		rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		list := []directoryPeer{}
		for _, p := range peers {
			if p == asker || len(list) == maxDirectoryPeers {
				continue
			}
			dp := directoryPeer{ID: p.String()}
			for _, a := range n.host.Peerstore().Addrs(p) {
				if len(dp.Addrs) < maxDirectoryAddrs && !isRelayed(a) && manet.IsPublicAddr(a) {
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
	if err := json.NewEncoder(w).Encode(directoryRequest{Rooms: rc.n.roomNames()}); err != nil {
		s.Reset()
		return fmt.Errorf("send directory request: %w", err)
	}
	if err := w.Flush(); err != nil {
		s.Reset()
		return fmt.Errorf("send directory request: %w", err)
	}
	s.CloseWrite()
	var resp directoryResponse
	if err := json.NewDecoder(io.LimitReader(s, maxDirectoryResponse)).Decode(&resp); err != nil {
		s.Reset()
		return fmt.Errorf("read directory response: %w", err)
	}
	seen := map[peer.ID]bool{}
	for _, list := range resp.Rooms {
		for _, dp := range list {
			p, err := peer.Decode(dp.ID)
			if err != nil || seen[p] {
				continue
			}
			seen[p] = true
			rc.considerPeer(p, dp.Addrs, ai)
		}
	}
	return nil
}

// considerPeer makes p, a room peer seen at relay ai, a wanted peer with
// its public addresses and its address through the relay. The dialer
// keeps it connected from then on, and falls back to the relayed address
// when a direct connection breaks.
func (rc *relayClient) considerPeer(p peer.ID, addrStrs []string, ai peer.AddrInfo) {
	h := rc.n.host
	if p == h.ID() || rc.n.gater.isBlocked(p) {
		return
	}
	var addrs []ma.Multiaddr
	for _, s := range addrStrs {
		if a, err := ma.NewMultiaddr(s); err == nil && manet.IsPublicAddr(a) && !isRelayed(a) {
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
