package node

import (
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerchat/peerchat/node/internal/peering"
)

// RelayedAddrs returns the node's addresses through the relays it holds a
// reservation with (/…/p2p/RELAY/p2p-circuit/p2p/ME), TCP ones first: a
// node behind NAT is reachable only there, so these are what its user
// shares for others to give as --bootstrap.
func (n *Node) RelayedAddrs() []ma.Multiaddr {
	var tcp, other []ma.Multiaddr
	for _, a := range n.Addrs() {
		switch {
		case !peering.IsRelayed(a):
		case peering.TransportOf(a) == "tcp":
			tcp = append(tcp, a)
		default:
			other = append(other, a)
		}
	}
	return append(tcp, other...)
}

// ShareAddr returns the one address to give to others, or "" when the
// node has none yet: a relayed one while the node is not known to be
// publicly reachable (TCP first, the safest bet through firewalls), else
// its first listen address.
func (n *Node) ShareAddr() string {
	if n.Reachability() != "public" {
		if r := n.RelayedAddrs(); len(r) > 0 {
			return r[0].String()
		}
	}
	addrs := n.Addrs()
	for _, a := range addrs {
		if !peering.IsRelayed(a) {
			return a.String()
		}
	}
	if len(addrs) > 0 {
		return addrs[0].String()
	}
	return ""
}
