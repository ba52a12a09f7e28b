package discovery

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerchat/peerchat/node/internal/tasks"
)

func TestShareableKeepsRelayedAndPublicAddressesOrAllWhenNone(t *testing.T) {
	m := func(s string) ma.Multiaddr { return ma.StringCast(s) }
	loop, lan := m("/ip4/127.0.0.1/tcp/1"), m("/ip4/192.168.1.2/tcp/1")
	pub := m("/ip4/8.8.8.8/tcp/4001")
	circuit := m("/ip4/127.0.0.1/tcp/2/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit")
	if got := Shareable([]ma.Multiaddr{loop, lan, circuit, pub}); len(got) != 2 || !got[0].Equal(circuit) || !got[1].Equal(pub) {
		t.Errorf("Shareable kept %v, want the circuit and the public address", got)
	}
	if got := Shareable([]ma.Multiaddr{loop, lan}); len(got) != 2 {
		t.Errorf("Shareable of private addresses alone kept %v, want them all", got)
	}
}

func TestFindDelayIsFastForAMinuteThenSlowerOnceTheRoomHasCompany(t *testing.T) {
	for range 100 {
		if d := findDelay(10*time.Second, 0); d < 1500*time.Millisecond || d >= 4500*time.Millisecond {
			t.Fatalf("first minute: %v, want about 3 s", d)
		}
		if d := findDelay(2*time.Minute, 0); d < 30*time.Second || d >= time.Minute {
			t.Fatalf("alone after a minute: %v, want 30 to 60 s", d)
		}
		if d := findDelay(2*time.Minute, 3); d < 150*time.Second || d >= 450*time.Second {
			t.Fatalf("with company: %v, want about 5 minutes", d)
		}
	}
}

// dials records what a node's Discovery hands to its dialer.
type dials struct {
	mu  sync.Mutex
	got map[peer.ID]time.Duration
}

func (d *dials) want(ai peer.AddrInfo, delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got[ai.ID] = delay
}

func (d *dials) has(p peer.ID) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delay, ok := d.got[p]
	return delay, ok
}

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Two clients in room bars, connected only to one server, find each other
// under the room's key and hand each other (never themselves) to the
// dialer, the larger peer ID with a delay so that the smaller dials first.
func TestClientsInARoomFindEachOtherThroughAServer(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	server := newHost(t)
	var hosts [2]host.Host
	var found [2]*dials
	var groups []*tasks.Group
	start := func(h host.Host, cfg Config) {
		g := tasks.New()
		groups = append(groups, g)
		cfg.Host, cfg.Tasks, cfg.Log = h, g, log
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
	}
	t.Cleanup(func() {
		for _, g := range groups {
			g.Stop()
			g.Wait()
		}
		for _, h := range append(hosts[:], server) {
			h.Close()
		}
	})
	start(server, Config{Server: true, Rooms: func() []string { return nil }, RoomPeers: func(string) int { return 0 }, Dial: func(peer.AddrInfo, time.Duration) {}})
	for i := range hosts {
		hosts[i], found[i] = newHost(t), &dials{got: map[peer.ID]time.Duration{}}
		start(hosts[i], Config{
			Bootstrap: func() []peer.AddrInfo { return []peer.AddrInfo{{ID: server.ID(), Addrs: server.Addrs()}} },
			Rooms:     func() []string { return []string{"bars"} },
			RoomPeers: func(string) int { return 0 },
			Dial:      found[i].want,
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, ok0 := found[0].has(hosts[1].ID())
		_, ok1 := found[1].has(hosts[0].ID())
		if ok0 && ok1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: client 0 found %v, client 1 found %v", found[0].got, found[1].got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, h := range hosts {
		if _, ok := found[i].has(h.ID()); ok {
			t.Errorf("client %d handed itself to its dialer", i)
		}
		other := hosts[1-i].ID()
		delay, _ := found[i].has(other)
		if (h.ID() < other) != (delay == 0) {
			t.Errorf("client %d (smaller ID: %v) dials after %v", i, h.ID() < other, delay)
		}
	}
}

// A node that reaches the world through relays does not advertise while
// it has neither a relayed nor a public address (only loopback here): a
// record without them would send finders nowhere. A node not behind
// relays, beside it, advertises the same addresses, and both search.
func TestANodeBehindRelaysAdvertisesNothingUntilItHasARelayedAddress(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	server, behind, plain := newHost(t), newHost(t), newHost(t)
	var groups []*tasks.Group
	t.Cleanup(func() {
		for _, g := range groups {
			g.Stop()
			g.Wait()
		}
		for _, h := range []host.Host{server, behind, plain} {
			h.Close()
		}
	})
	start := func(h host.Host, cfg Config) {
		g := tasks.New()
		groups = append(groups, g)
		cfg.Host, cfg.Tasks, cfg.Log = h, g, log
		cfg.Rooms, cfg.RoomPeers = func() []string { return []string{"bars"} }, func(string) int { return 0 }
		cfg.Bootstrap = func() []peer.AddrInfo { return []peer.AddrInfo{{ID: server.ID(), Addrs: server.Addrs()}} }
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
	}
	start(server, Config{Server: true, Dial: func(peer.AddrInfo, time.Duration) {}})
	foundByBehind, foundByPlain := &dials{got: map[peer.ID]time.Duration{}}, &dials{got: map[peer.ID]time.Duration{}}
	start(behind, Config{Relayed: true, Dial: foundByBehind.want})
	start(plain, Config{Dial: foundByPlain.want})

	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := foundByBehind.has(plain.ID()); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node behind relays did not find the other node's record in 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The other node searches every 1.5 to 4.5 s in its first minute:
	// after 6 s more it has searched at least once since.
	until := time.Now().Add(6 * time.Second)
	for time.Now().Before(until) {
		if _, ok := foundByPlain.has(behind.ID()); ok {
			t.Fatal("the node behind relays advertised with loopback addresses only")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
