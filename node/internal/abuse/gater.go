package abuse

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Gater refuses connections to and from blocked peers. It is how a user
// (or a test that splits the network in two) cuts a peer off: the dialer
// stops redialling it and the host refuses its connections both ways.
type Gater struct {
	mu      sync.RWMutex
	blocked map[peer.ID]bool
}

// NewGater returns a gater that blocks nobody.
func NewGater() *Gater { return &Gater{blocked: map[peer.ID]bool{}} }

// Set blocks p, or lets it connect again.
func (g *Gater) Set(p peer.ID, blocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if blocked {
		g.blocked[p] = true
	} else {
		delete(g.blocked, p)
	}
}

// IsBlocked reports whether p is blocked.
func (g *Gater) IsBlocked(p peer.ID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.blocked[p]
}

func (g *Gater) InterceptPeerDial(p peer.ID) bool                 { return !g.IsBlocked(p) }
func (g *Gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.IsBlocked(p) }
func (g *Gater) InterceptAccept(network.ConnMultiaddrs) bool      { return true }
func (g *Gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.IsBlocked(p)
}
func (g *Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
