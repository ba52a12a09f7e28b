// Package discovery finds the peers of the node's rooms across relays, in
// peerchat's own Kademlia DHT (go-libp2p-kad-dht with the protocol prefix
// protocol.DHTProtocolPrefix, never the public IPFS DHT).
//
// Relays and public nodes serve the DHT (ModeServer); nodes behind NAT are
// clients (ModeClient) that reach it through their relays and bootstrap
// peers. Each joined room is advertised as a provider record under a key
// hashed from its topic (protocol.RoomDiscoveryKey), so servers hold and
// list no room names; the record carries the node's shareable addresses,
// which for a node behind NAT are its addresses through its relays. Peers
// found under a room's key are handed to the dialer, which connects through
// whatever relay the peer is reserved on.
//
// The relay directory (package nat) still finds peers on the same relay at
// once, and mDNS those on the LAN; the DHT adds the case where two peers
// share no relay.
package discovery

import (
	"fmt"
	"log/slog"
	"time"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/peerchat/peerchat/node/internal/tasks"
	"github.com/peerchat/peerchat/protocol"
)

// RecordLifetime is how long a server keeps a provider record, and the
// provider's addresses with it. IPFS's defaults (48 h for the record, 24 h
// for the addresses) would keep a departed peer, or a relay reservation
// long gone, in every answer for a day; half an hour bounds that, and the
// node re-advertises well within it (advertiseEvery).
const RecordLifetime = 30 * time.Minute

// Config configures Discovery. Host, Tasks, Rooms and Dial are required.
type Config struct {
	Host  host.Host
	Tasks *tasks.Group // runs every goroutine; its context ending stops the DHT
	Log   *slog.Logger
	// Server makes the node answer DHT queries and keep records: relays and
	// public nodes. Otherwise the node is a client, which never has to be
	// reachable. The mode is set, never left to AutoNAT (ModeAuto), which
	// would wait for a verdict and flip the node with it.
	Server bool
	// Datastore holds a server's provider records. Nil means memory: a
	// record is re-advertised within minutes, so a restart loses nothing
	// that lasts.
	Datastore ds.Batching
	// Bootstrap lists the DHT servers to reach when the routing table is
	// empty: the node's relays and bootstrap peers.
	Bootstrap func() []peer.AddrInfo
	// Relayed says the node reaches the world through relays: it then
	// advertises only once it has a relayed or a public address, since an
	// advertisement with private addresses alone would send finders to
	// addresses they cannot dial.
	Relayed bool
	// Rooms lists the joined rooms; RoomPeers counts the peers connected in
	// one of them (gossipsub's view), which slows the search once the room
	// has company.
	Rooms     func() []string
	RoomPeers func(room string) int
	// Dial makes a found peer wanted, its first dial after delay (the
	// dialer's Want). Blocked peers are never handed to it.
	Dial    func(ai peer.AddrInfo, delay time.Duration)
	Blocked func(peer.ID) bool
	// Prefix replaces protocol.DHTProtocolPrefix, for tests that show what
	// a DHT with another prefix (IPFS's) sees. Empty means ours.
	Prefix libp2pprotocol.ID
}

// Discovery is the node's DHT and the loop that advertises and searches
// its rooms in it.
type Discovery struct {
	cfg Config
	dht *dht.IpfsDHT
}

// New builds the DHT on cfg.Host; Start runs it.
func New(cfg Config) (*Discovery, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Prefix == "" {
		cfg.Prefix = protocol.DHTProtocolPrefix
	}
	if cfg.Bootstrap == nil {
		cfg.Bootstrap = func() []peer.AddrInfo { return nil }
	}
	if cfg.Blocked == nil {
		cfg.Blocked = func(peer.ID) bool { return false }
	}
	store := cfg.Datastore
	if store == nil {
		store = dssync.MutexWrap(ds.NewMapDatastore())
	}
	mode := dht.ModeClient
	if cfg.Server {
		mode = dht.ModeServer
	}
	d, err := dht.New(cfg.Host,
		dht.Mode(mode),
		dht.ProtocolPrefix(cfg.Prefix),
		// Rooms are found by provider records only; values (IPNS, public
		// keys) are IPFS's business and would only be a way to store
		// arbitrary data on relays.
		dht.DisableValues(),
		dht.ProviderDatastore(store),
		dht.ProviderManagerOpts(
			records.ProvideValidity(RecordLifetime),
			// Servers add a provider's addresses and never remove them
			// before this lapses: no longer than the record itself.
			records.ProviderAddrTTL(RecordLifetime),
		),
		dht.BootstrapPeersFunc(cfg.Bootstrap),
		dht.AddressFilter(Shareable),
		// No PublicQueryFilter or PublicRoutingTableFilter: they judge by
		// go-multiaddr's private ranges, which would drop every relay of a
		// LAN, a lab or a loopback test, and the prefix already keeps the
		// table to peerchat servers.
	)
	if err != nil {
		return nil, fmt.Errorf("start the DHT: %w", err)
	}
	return &Discovery{cfg: cfg, dht: d}, nil
}

// Start runs the advertise and search loop, and closes the DHT once the
// tasks' context ends; closing the node waits for both.
func (d *Discovery) Start() {
	ctx := d.cfg.Tasks.Context()
	started := d.cfg.Tasks.Go(func() { d.run(ctx) })
	closer := d.cfg.Tasks.Go(func() {
		<-ctx.Done()
		if err := d.dht.Close(); err != nil {
			d.cfg.Log.Debug("close the DHT", "err", err)
		}
	})
	if !closer {
		// Closing began before Start: nothing else will close the DHT.
		d.dht.Close()
	}
	if started {
		mode := "client"
		if d.cfg.Server {
			mode = "server"
		}
		d.cfg.Log.Debug("DHT discovery started", "mode", mode, "prefix", string(d.cfg.Prefix))
	}
}

// DHT returns the node's DHT, for tests that look into its routing table.
func (d *Discovery) DHT() *dht.IpfsDHT { return d.dht }

// Shareable keeps the addresses worth giving to a peer elsewhere: relayed
// and public ones. When there are none (a LAN, a lab, a loopback test) it
// keeps them all, since they are all there is. The DHT applies it to what
// it advertises, to the addresses a server stores and answers with, and to
// what it adds to the peerstore.
func Shareable(addrs []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range addrs {
		if isRelayed(a) || manet.IsPublicAddr(a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return addrs
	}
	return out
}

// hasShareable reports whether addrs hold a relayed or public address.
func hasShareable(addrs []ma.Multiaddr) bool {
	for _, a := range addrs {
		if isRelayed(a) || manet.IsPublicAddr(a) {
			return true
		}
	}
	return false
}

func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}
