package node

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater refuses connections to and from blocked peers. It is how a user
// (or a test that splits the network in two) cuts a peer off: the dialer
// stops redialling it and the host refuses its connections both ways.
type gater struct {
	mu      sync.RWMutex
	blocked map[peer.ID]bool
}

func newGater() *gater { return &gater{blocked: map[peer.ID]bool{}} }

func (g *gater) set(p peer.ID, blocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if blocked {
		g.blocked[p] = true
	} else {
		delete(g.blocked, p)
	}
}

func (g *gater) isBlocked(p peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.blocked[p]
}

func (g *gater) InterceptPeerDial(p peer.ID) bool                 { return !g.isBlocked(p) }
func (g *gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.isBlocked(p) }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.isBlocked(p)
}
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// Block cuts p off: its connections are closed and refused both ways until
// Unblock.
func (n *Node) Block(p peer.ID) {
	n.gater.set(p, true)
	n.dialer.forget(p)
	n.host.Network().ClosePeer(p)
}

// Unblock lets p connect again, and dials it if it was wanted.
func (n *Node) Unblock(p peer.ID) {
	n.gater.set(p, false)
}
