package node

import (
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/discovery"
)

// DHTConfig configures discovery across relays: peerchat's private
// Kademlia DHT (protocol prefix "/peerchat", never the public IPFS DHT),
// in which each joined room is advertised under a hashed key and its
// peers are found wherever they are reserved (docs/architecture.md).
//
// The zero value runs it as users run it: a node with relays or
// bootstrap peers (someone to reach the DHT through) is a client of it;
// a node with neither, which could only find peers on its LAN, runs none.
type DHTConfig struct {
	// Off turns the DHT off even with relays or bootstrap peers, leaving
	// the relay directory, mDNS and bootstrap peers.
	Off bool
	// Server makes the node serve the DHT to others (relays do; a public
	// node may), with or without relays and bootstrap peers.
	Server bool
	// Datastore keeps the records a server holds; nil means memory.
	Datastore ds.Batching
}

// dhtOn reports whether cfg runs the DHT (see DHTConfig).
func dhtOn(cfg Config) bool {
	return !cfg.DHT.Off && (cfg.DHT.Server || len(cfg.Relays) > 0 || len(cfg.Bootstrap) > 0)
}

// startDiscovery starts the DHT of a wired node when its config asks for
// one. Its goroutines run in the node's tasks, and the DHT closes when
// they stop.
func startDiscovery(n *Node) error {
	cfg := n.cfg
	if !dhtOn(cfg) {
		return nil
	}
	// The servers to fall back on when the routing table empties: relays
	// and bootstrap peers. An address that does not parse is reported by
	// the role that owns it (nat for relays, peering for bootstrap peers).
	var boot []peer.AddrInfo
	for _, s := range append(append([]string(nil), cfg.Relays...), cfg.Bootstrap...) {
		if ai, err := peer.AddrInfoFromString(s); err == nil {
			boot = append(boot, *ai)
		}
	}
	d, err := discovery.New(discovery.Config{
		Host:      n.host,
		Tasks:     n.tasks,
		Log:       cfg.Logger,
		Server:    cfg.DHT.Server,
		Datastore: cfg.DHT.Datastore,
		Bootstrap: func() []peer.AddrInfo { return boot },
		Relayed:   len(cfg.Relays) > 0,
		Rooms:     n.rooms.Names,
		RoomPeers: func(room string) int { return len(n.rooms.Peers(room)) },
		Dial:      func(ai peer.AddrInfo, delay time.Duration) { n.peering.Dialer().Want(ai, delay) },
		Blocked:   n.peering.IsBlocked,
	})
	if err != nil {
		return err
	}
	d.Start()
	return nil
}
