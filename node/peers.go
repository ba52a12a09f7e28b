package node

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/nat"
	"github.com/peerchat/peerchat/node/internal/peering"
	"github.com/peerchat/peerchat/node/internal/roomsync"
)

// Connection kinds reported for a peer.
const (
	ConnDirect  = peering.ConnDirect
	ConnRelayed = peering.ConnRelayed
)

// PeerInfo describes a connected peer.
type PeerInfo = peering.PeerInfo

// RelayInfo describes the node's reservation with one configured relay.
type RelayInfo = nat.RelayInfo

// SyncRun is one reconciliation of a room with a peer, as GET /v1/sync
// shows it: the latest run of each room and peer pair.
type SyncRun = roomsync.SyncRun

// Peers lists the connected peers, with whether each link is direct or
// relayed. A peer with both kinds of connection counts as direct.
func (n *Node) Peers() []PeerInfo { return n.peering.Peers() }

// Relays reports the node's reservation with each configured relay.
func (n *Node) Relays() []RelayInfo { return n.nat.Relays() }

// Reachability is AutoNAT's verdict on whether peers can dial this node
// directly: "public", "private" or "unknown".
func (n *Node) Reachability() string { return n.nat.Reachability() }

// Syncs lists the latest sync run of every room and peer pair, newest
// first.
func (n *Node) Syncs() []SyncRun { return n.syncer.Runs() }

// Block cuts p off: its connections are closed and refused both ways, and
// the node stops redialling it, until Unblock.
func (n *Node) Block(p peer.ID) { n.peering.Block(p) }

// Unblock lets p connect again. It does not dial p: Block made the node
// forget it, so the two connect again when either finds the other (mDNS,
// a bootstrap address, a relay's directory) or p dials in.
func (n *Node) Unblock(p peer.ID) { n.peering.Unblock(p) }
