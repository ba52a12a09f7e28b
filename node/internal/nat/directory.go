package nat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/peerchat/peerchat/node/internal/peering"
	"github.com/peerchat/peerchat/protocol"
)

// The relay directory (protocol.RelayDirectoryProtocol) is how a node
// asks a relay which peers it sees in the node's rooms. The relay knows
// because every peer's gossipsub announces its room topics to it on
// connecting (package relay serves it). The asker then dials those peers
// through the relay; DCUtR takes it from there. Addresses are the peer's
// public ones known to the relay, worth a direct dial before the relayed
// one.

const (
	directoryTimeout = 10 * time.Second
	// directoryDialDelay lets the peer with the smaller ID dial first when
	// both learn of each other at once; two dials crossing produce two
	// relayed connections and two hole punches racing each other.
	directoryDialDelay = time.Second
)

// queryDirectory asks relay ai for the peers of the node's rooms and
// makes each one wanted, reachable through that relay.
func (rc *Client) queryDirectory(ctx context.Context, ai peer.AddrInfo) error {
	ctx, cancel := context.WithTimeout(ctx, directoryTimeout)
	defer cancel()
	s, err := rc.host.NewStream(network.WithNoDial(ctx, "relay directory"), ai.ID, protocol.RelayDirectoryProtocol)
	if err != nil {
		return fmt.Errorf("open directory stream: %w", err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	w := bufio.NewWriter(s)
	asked := rc.rooms()
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
func (rc *Client) considerPeer(p peer.ID, named []ma.Multiaddr, ai peer.AddrInfo) {
	h := rc.host
	if p == h.ID() || rc.blocked(p) {
		return
	}
	var addrs []ma.Multiaddr
	for _, a := range named {
		if manet.IsPublicAddr(a) && !peering.IsRelayed(a) {
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
			rc.tasks.Go(func() {
				ctx, cancel := context.WithTimeout(rc.tasks.Context(), directoryTimeout)
				defer cancel()
				if err := h.Connect(ctx, peer.AddrInfo{ID: p, Addrs: addrs}); err != nil {
					rc.log.Debug("dial through limited relay", "peer", p, "err", err)
				}
			})
		}
		return
	}
	var delay time.Duration
	if h.ID() > p {
		delay = peering.Jitter(directoryDialDelay) + directoryDialDelay/2
	}
	rc.dialer.Want(peer.AddrInfo{ID: p, Addrs: addrs}, delay)
}
