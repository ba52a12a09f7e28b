package relay_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node"
)

// TestDHTStandingCostPerClient measures what the DHT costs a node behind
// NAT once it has settled: connections, bytes a minute and heap, with the
// DHT on against the same set-up with it off. Two relays know each other by
// bootstrap; clients alternate between them, each alone in a room of its
// own (the dearest steady case: a room without company is searched every
// 30 to 60 s) and listening on loopback only. It runs for minutes, so only
// when PEERCHAT_MEASURE_DHT is set (docs/performance.md has the numbers):
//
//	PEERCHAT_MEASURE_DHT=1 go test -count=1 -run TestDHTStandingCostPerClient -v ./relay/
func TestDHTStandingCostPerClient(t *testing.T) {
	if os.Getenv("PEERCHAT_MEASURE_DHT") == "" {
		t.Skip("a measurement of several minutes; set PEERCHAT_MEASURE_DHT=1 to run it")
	}
	const clients = 10
	settle, window := 70*time.Second, 60*time.Second
	for _, off := range []bool{true, false} {
		rs, _, closeRelay := twoRelays(t)
		var nodes []*node.Node
		var counters []*metrics.BandwidthCounter
		for i := range clients {
			bw := metrics.NewBandwidthCounter()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			n, err := node.New(ctx, node.Config{
				DataDir: t.TempDir(), Name: "cost", ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, NoMDNS: true,
				Rooms: []string{fmt.Sprintf("solo-%d", i)}, Relays: []string{relayAddr(t, rs[i%2])}, Logger: testLogger(),
				DHT: node.DHTConfig{Off: off}, HostOptions: []libp2p.Option{libp2p.BandwidthReporter(bw)},
			})
			cancel()
			if err != nil {
				t.Fatalf("start node: %v", err)
			}
			nodes, counters = append(nodes, n), append(counters, bw)
		}
		time.Sleep(settle) // a measurement window, not a wait for a condition
		before := make([]metrics.Stats, clients)
		kadBefore := make([]metrics.Stats, clients)
		for i, bw := range counters {
			before[i], kadBefore[i] = bw.GetBandwidthTotals(), bw.GetBandwidthForProtocol("/peerchat/kad/1.0.0")
		}
		time.Sleep(window)
		var bytes, kad int64
		conns, peers := 0, 0
		for i, bw := range counters {
			now, k := bw.GetBandwidthTotals(), bw.GetBandwidthForProtocol("/peerchat/kad/1.0.0")
			bytes += now.TotalIn + now.TotalOut - before[i].TotalIn - before[i].TotalOut
			kad += k.TotalIn + k.TotalOut - kadBefore[i].TotalIn - kadBefore[i].TotalOut
			conns += len(nodes[i].Host().Network().Conns())
			peers += len(nodes[i].Host().Network().Peers())
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mode := "on"
		if off {
			mode = "off"
		}
		t.Logf("DHT %s, %d clients, 2 relays: per client %.1f connections to %.1f peers, %d bytes a minute (of which /peerchat/kad %d), process heap %.2f MiB, %d goroutines",
			mode, clients, float64(conns)/clients, float64(peers)/clients, bytes/clients, kad/clients,
			float64(ms.HeapInuse)/(1<<20), runtime.NumGoroutine())
		t.Logf("  client 0 is connected to %s", peersOf(nodes[0]))
		for _, n := range nodes {
			n.Close()
		}
		closeRelay(0)
		closeRelay(1)
	}
}

// peersOf lists n's peers by short ID.
func peersOf(n *node.Node) string {
	var out []string
	for _, p := range n.Host().Network().Peers() {
		out = append(out, shortID(p))
	}
	return strings.Join(out, " ")
}

func shortID(p peer.ID) string { s := p.String(); return s[len(s)-6:] }
