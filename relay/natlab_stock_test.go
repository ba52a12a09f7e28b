//go:build linux

package relay_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node"
)

// startStockRelay runs this test binary's TestStockRelayProcess (a stock
// go-libp2p relay with default limits) in r's namespace on r's address,
// and returns r with the relay's peer ID, which the relay makes itself.
func startStockRelay(t *testing.T, r labRelay) labRelay {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, exe, r.name, r.ns, "-test.run=^TestStockRelayProcess$", "-test.count=1", stockRelayArg,
		"/ip4/"+r.ip+"/tcp/4001", "/ip4/"+r.ip+"/udp/4001/quic-v1")
	p.waitLine(t, "relay ready", 60*time.Second)
	for _, l := range strings.Split(p.output(), "\n") {
		if v, ok := strings.CutPrefix(l, "peer ID: "); ok {
			if r.id, err = peer.Decode(strings.TrimSpace(v)); err != nil {
				t.Fatalf("stock relay's peer ID %q: %v", v, err)
			}
			return r
		}
	}
	t.Fatalf("stock relay printed no peer ID:\n%s", p.output())
	return r
}

// Symmetric NATs, so no punch can work, and a stock go-libp2p relay with
// its default limits (2 minutes, 128 KiB each way), given to both peers
// by its TCP address. Bob shares the relayed address he prints, alice
// starts with it as --bootstrap, and they chat over the limited circuit
// within 10 s of alice's start. With PEERCHAT_LAB_LONG set, they chat
// again at 150 s, after the relay cut the circuit at 2 minutes.
func testStockRelay(t *testing.T, bin string) {
	buildLab(t, true)
	r := startStockRelay(t, prepareRelays(t)[0])
	b := startLabNode(t, bin, labPeerB, r)
	t.Cleanup(func() { dumpIfFailed(t) })
	b.waitLine(t, "share this address: ", 30*time.Second)
	var share string
	for _, l := range strings.Split(b.output(), "\n") {
		if v, ok := strings.CutPrefix(l, "share this address: "); ok {
			share = strings.TrimSpace(v)
		}
	}
	if want := r.addr() + "/p2p-circuit/p2p/" + b.id; share != want {
		t.Fatalf("b shares %q, want %q", share, want)
	}

	start := time.Now()
	a := startLabNodeWith(t, bin, labPeerA, []string{"--bootstrap", share}, r)
	waitLink(t, a, b, node.ConnRelayed, r.id.String(), 10*time.Second-time.Since(start))
	if pi := a.peer(t, b); !pi.Limited || pi.Transport != "tcp" {
		t.Errorf("a's link to b = %+v, want a limited relayed TCP link", pi)
	}
	exchange(t, a, b, "limited", 20, node.ConnRelayed, 10*time.Second-time.Since(start))
	t.Logf("20 messages each way over the stock relay's limited circuit %v after a started", time.Since(start).Round(time.Millisecond))
	noneTwice(t, a, b)

	if os.Getenv("PEERCHAT_LAB_LONG") == "" {
		return
	}
	const cut = "relayed circuit closed: the relay's time limit ran out"
	waitFor(t, 150*time.Second-time.Since(start), "the relay to cut the circuit at its time limit", func() bool {
		return a.count(cut) > 0 || b.count(cut) > 0
	})
	t.Logf("the relay cut the circuit %v after a started", time.Since(start).Round(time.Second))
	waitFor(t, 150*time.Second-time.Since(start)+time.Second, "150 s after a started", func() bool {
		return time.Since(start) >= 150*time.Second
	})
	took := exchange(t, a, b, "after-cut", 20, node.ConnRelayed, 10*time.Second)
	t.Logf("20 more each way at 150 s in %v", took.Round(time.Millisecond))
	noneTwice(t, a, b)
}

// noneTwice fails if a or b holds a message of the other twice.
func noneTwice(t *testing.T, a, b *labNode) {
	t.Helper()
	for _, pair := range [][2]*labNode{{a, b}, {b, a}} {
		seen := map[string]bool{}
		for _, text := range pair[0].texts(t, pair[1]) {
			if seen[text] {
				t.Errorf("%s holds %q twice", pair[0].name, text)
			}
			seen[text] = true
		}
	}
}
