package relay_test

import (
	"bytes"
	"context"
	"github.com/multiformats/go-base32"
	"strings"
	"sync"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multihash"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/relay"
)

// twoRelays starts two relays that know each other only because the
// second names the first in Bootstrap, told no room, each keeping its DHT
// records in the datastore returned. close stops a relay once, flushing
// the records it buffered into its datastore; the test's cleanup calls it
// too.
func twoRelays(t *testing.T) (rs [2]*relay.Relay, stores [2]ds.Batching, closeRelay func(i int)) {
	t.Helper()
	var once [2]sync.Once
	for i := range rs {
		stores[i] = dssync.MutexWrap(ds.NewMapDatastore())
		cfg := relay.Config{DataDir: t.TempDir(), DHTStore: stores[i], ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: testLogger()}
		if i == 1 {
			cfg.Bootstrap = []string{relayAddr(t, rs[0])}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r, err := relay.New(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatalf("start relay %d: %v", i, err)
		}
		rs[i] = r
	}
	closeRelay = func(i int) { once[i].Do(func() { rs[i].Close() }) }
	t.Cleanup(func() { closeRelay(0); closeRelay(1) })
	return rs, stores, closeRelay
}

// roomPeers returns how many peers n sees in room's topic.
func roomPeers(n *node.Node, room string) int {
	for _, ri := range n.Rooms() {
		if ri.Name == room {
			return ri.Peers
		}
	}
	return 0
}

// Alice reserved on one relay and bob on another, the relays knowing each
// other only by --bootstrap and told no room: the relay directories cannot
// help (each knows one of them), so only the DHT brings them together.
// The room is ready and 20 messages each way arrive within 30 s of start.
func TestPeersOnRelaysThatKnowEachOtherOnlyByBootstrapChat(t *testing.T) {
	rs, _, _ := twoRelays(t)
	start := time.Now()
	alice := startNode(t, "", []string{relayAddr(t, rs[0])}, "bars")
	bob := startNode(t, "", []string{relayAddr(t, rs[1])}, "bars")

	const budget = 30 * time.Second
	waitFor(t, budget, "alice and bob in room bars together", func() bool {
		return roomPeers(alice, "bars") == 1 && roomPeers(bob, "bars") == 1
	})
	ready := time.Since(start)
	fromA := send(t, alice, "bars", "alice", 20)
	fromB := send(t, bob, "bars", "bob", 20)
	waitFor(t, budget-time.Since(start), "20 messages delivered each way", func() bool {
		return hasAll(texts(t, bob, "bars", alice.ID()), fromA) && hasAll(texts(t, alice, "bars", bob.ID()), fromB)
	})
	kind, via := link(alice, bob.ID())
	t.Logf("room ready %v after start, 20 messages each way delivered %v after start; alice-bob link %s %s",
		ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), kind, via)
	if r := alice.Relays(); len(r) != 1 || r[0].ID != rs[0].ID().String() {
		t.Errorf("alice's relays = %+v, want only the first relay", r)
	}
}

// The control: the same two relays and peers with the DHT off stay apart,
// each relay's directory knowing only its own peer. Without this the test
// above could pass by some other path.
func TestWithoutTheDHTPeersOnDifferentRelaysStayApart(t *testing.T) {
	rs, _, _ := twoRelays(t)
	var peers [2]*node.Node
	for i := range peers {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err := node.New(ctx, node.Config{
			DataDir: t.TempDir(), Name: "test", ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, NoMDNS: true,
			Rooms: []string{"bars"}, Relays: []string{relayAddr(t, rs[i])}, Logger: testLogger(),
			DHT: node.DHTConfig{Off: true},
		})
		cancel()
		if err != nil {
			t.Fatalf("start node: %v", err)
		}
		t.Cleanup(func() { n.Close() })
		peers[i] = n
	}
	waitFor(t, 20*time.Second, "both reserved", func() bool {
		return peers[0].Relays()[0].Reserved && peers[1].Relays()[0].Reserved
	})
	// The DHT brings them together in about 2 s; give them four times that.
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		if k, _ := link(peers[0], peers[1].ID()); k != "" {
			t.Fatalf("peers on different relays connected (%s) with the DHT off", k)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The relays' DHT records name no room: after alice and bob found each
// other in rooms bars and a second one, every record the relays stored is
// filed under a hashed room key, and no key, value or stored address holds
// a room's name or topic.
func TestDHTRecordsHoldNoRoomNames(t *testing.T) {
	rs, stores, closeRelay := twoRelays(t)
	rooms := []string{"bars", "night-owls"}
	alice := startNode(t, "", []string{relayAddr(t, rs[0])}, rooms...)
	bob := startNode(t, "", []string{relayAddr(t, rs[1])}, rooms...)
	waitFor(t, 30*time.Second, "alice and bob in both rooms together", func() bool {
		return roomPeers(alice, rooms[0]) == 1 && roomPeers(bob, rooms[0]) == 1 &&
			roomPeers(alice, rooms[1]) == 1 && roomPeers(bob, rooms[1]) == 1
	})
	want := map[string]bool{}
	for _, room := range rooms {
		want[protocol.RoomDiscoveryKey(room)] = true
	}
	// Servers buffer records and write them out on Close.
	closeRelay(0)
	closeRelay(1)
	filed := map[string]int{}
	for i, st := range stores {
		res, err := st.Query(context.Background(), query.Query{})
		if err != nil {
			t.Fatal(err)
		}
		entries, err := res.Rest()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			for _, room := range rooms {
				for _, secret := range []string{room, protocol.Topic(room)} {
					if strings.Contains(e.Key, secret) || bytes.Contains(e.Value, []byte(secret)) {
						t.Errorf("relay %d stores %q = %x, which holds %q", i, e.Key, e.Value, secret)
					}
				}
			}
			key := providerKey(t, e.Key)
			if !want[key] {
				t.Errorf("relay %d stores a record under %q, not a hashed room key", i, key)
			}
			filed[key]++
		}
		for _, room := range rooms {
			for _, p := range []peer.ID{alice.ID(), bob.ID()} {
				for _, a := range rs[i].Node().Host().Peerstore().Addrs(p) {
					if strings.Contains(a.String(), room) {
						t.Errorf("relay %d keeps address %s of %s, which holds %q", i, a, p, room)
					}
				}
			}
		}
	}
	if len(filed) != len(rooms) {
		t.Errorf("records filed under %v, want one key for each of %v", filed, rooms)
	}
	t.Logf("records per hashed key across both relays: %v", filed)
}

// providerKey decodes a provider record's datastore key,
// /providers/BASE32(multihash)/BASE32(peer), to the text it is filed
// under (peerchat files records under identity multihashes of the key).
func providerKey(t *testing.T, dsKey string) string {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(dsKey, "/"), "/")
	if len(parts) != 3 || parts[0] != "providers" {
		t.Fatalf("datastore key %q is not a provider record", dsKey)
	}
	raw, err := base32.RawStdEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("datastore key %q: %v", dsKey, err)
	}
	mh, err := multihash.Decode(raw)
	if err != nil {
		t.Fatalf("datastore key %q holds no multihash: %v", dsKey, err)
	}
	return string(mh.Digest)
}

// A DHT node speaking the public IPFS DHT's protocol (prefix /ipfs) that
// connects to both relays finds no peer to query and none of the
// records, while a node with peerchat's prefix finds alice's at once: the
// prefix keeps peerchat out of the public DHT, and the public DHT out of
// peerchat's.
func TestPublicIPFSDHTFindsNoneOfOurRecords(t *testing.T) {
	rs, _, _ := twoRelays(t)
	alice := startNode(t, "", []string{relayAddr(t, rs[0])}, "bars")
	key, err := protocol.RoomDiscoveryCID("bars")
	if err != nil {
		t.Fatal(err)
	}
	ours := dhtNode(t, rs, protocol.DHTProtocolPrefix)
	waitFor(t, 30*time.Second, "a peerchat DHT client finds alice's record", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for ai := range ours.FindProvidersAsync(ctx, key, 10) {
			if ai.ID == alice.ID() {
				return true
			}
		}
		return false
	})

	public := dhtNode(t, rs, "/ipfs")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var found []peer.AddrInfo
	for ai := range public.FindProvidersAsync(ctx, key, 10) {
		found = append(found, ai)
	}
	if len(found) != 0 {
		t.Errorf("a DHT node with the IPFS prefix found %v under the room's key, want nothing", found)
	}
	if n := public.RoutingTable().Size(); n != 0 {
		t.Errorf("the IPFS-prefix DHT node has %d peers in its table, want 0 (no relay speaks /ipfs/kad)", n)
	}
	if err := public.Provide(ctx, key, true); err == nil {
		t.Errorf("the IPFS-prefix DHT node advertised into peerchat's relays without an error")
	}
}

// dhtNode starts a bare libp2p host with a DHT client using prefix,
// connected to every relay, closed at the end of the test.
func dhtNode(t *testing.T, rs [2]*relay.Relay, prefix string) *dht.IpfsDHT {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	d, err := dht.New(h, dht.Mode(dht.ModeClient), dht.ProtocolPrefix(libp2pprotocol.ID(prefix)))
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); h.Close() })
	for _, r := range rs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := h.Connect(ctx, peer.AddrInfo{ID: r.ID(), Addrs: r.Node().Host().Addrs()})
		cancel()
		if err != nil {
			t.Fatalf("connect to relay: %v", err)
		}
	}
	return d
}
