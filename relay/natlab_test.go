//go:build linux

package relay_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/peerchat/peerchat/node"
)

// TestNATLab runs peerchat through real Linux NAT: a relay on the lab's
// internet and two peers, each behind its own NAT router that drops
// unsolicited inbound packets, so the peers cannot dial each other and
// start knowing only the relay. Every node is a child process in its own
// network namespace, driven through its HTTP API.
func TestNATLab(t *testing.T) {
	requireLab(t)
	bin := buildPeerchat(t)
	t.Run("cone", func(t *testing.T) { testConeNAT(t, bin) })
	t.Run("symmetric", func(t *testing.T) { testSymmetricNAT(t, bin) })
	t.Run("stock-relay", func(t *testing.T) { testStockRelay(t, bin) })
}

// exchange has a and b each post count messages and waits until each has
// the other's, checking at every poll that their link is still want.
func exchange(t *testing.T, a, b *labNode, prefix string, count int, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	fromA := a.post(t, prefix+"-a", count)
	fromB := b.post(t, prefix+"-b", count)
	waitFor(t, timeout, "every message delivered both ways ("+prefix+")", func() bool {
		if kind, _ := a.link(t, b); kind != want {
			t.Fatalf("link a-b is %q during the %s exchange, want %s", kind, prefix, want)
		}
		return hasAll(b.texts(t, a), fromA) && hasAll(a.texts(t, b), fromB)
	})
	return time.Since(start)
}

// waitLink waits until a and b both see their link as kind (through relay
// via, when relayed).
func waitLink(t *testing.T, a, b *labNode, kind, via string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, timeout, "a-b link "+kind+" "+via, func() bool {
		ka, va := a.link(t, b)
		kb, vb := b.link(t, a)
		return ka == kind && kb == kind && va == via && vb == via
	})
	return time.Since(start)
}

// Cone NAT (MASQUERADE keeps ports): relayed first, then DCUtR punches a
// hole and the link turns direct. The routers first also drop traffic
// between the two public addresses, which makes the first hole punch fail
// and holds the link relayed for the 100+100 messages; opening the path
// then shows the node's own punch retries at work. Finally the direct
// link is broken and the nodes fall back to the relay.
func testConeNAT(t *testing.T, bin string) {
	buildLab(t, false)
	blockDirect(t, true)
	relays := prepareRelays(t)
	r1 := relays[0]
	startLabRelay(t, bin, r1)
	start := time.Now()
	a := startLabNode(t, bin, labPeerA, r1)
	b := startLabNode(t, bin, labPeerB, r1)
	t.Cleanup(func() { dumpIfFailed(t) }) // before the processes stop

	waitLink(t, a, b, node.ConnRelayed, r1.id.String(), 30*time.Second)
	t.Logf("relayed link up %v after the nodes started", time.Since(start).Round(time.Millisecond))
	// Each node asks the relay's AutoNAT service to dial it back.
	a.waitLine(t, "reachability=private", 30*time.Second)
	b.waitLine(t, "reachability=private", 30*time.Second)
	t.Logf("both nodes learned they are not publicly reachable %v after they started", time.Since(start).Round(time.Millisecond))
	took := exchange(t, a, b, "relayed", 100, node.ConnRelayed, 60*time.Second)
	t.Logf("100 messages each way over the relayed link, none lost, in %v", took.Round(time.Millisecond))
	if v := metricValue(t, r1, "peerchat_relay_circuits_opened_total"); v < 1 {
		t.Errorf("relay opened %v circuits, want at least 1", v)
	}
	if v := metricValue(t, r1, "peerchat_relay_bytes_relayed_total"); v <= 0 {
		t.Errorf("relay relayed %v bytes, want some", v)
	}

	// Open the path right after a punch attempt failed, not during one: a
	// path that opens in the middle of an attempt can meet libp2p's last,
	// role-switched try, whose TCP simultaneous open connects but fails
	// its security handshake, and leaves the port pair unusable for a
	// minute or so (half-open sockets, conntrack state).
	const punchFailed = "hole punch attempt failed"
	failed := a.count(punchFailed) + b.count(punchFailed)
	waitFor(t, 30*time.Second, "a hole punch attempt to fail", func() bool {
		return a.count(punchFailed)+b.count(punchFailed) > failed
	})
	blockDirect(t, false)
	took = waitLink(t, a, b, node.ConnDirect, "", 30*time.Second)
	t.Logf("link direct by hole punching %v after the path opened", took.Round(time.Millisecond))
	took = exchange(t, a, b, "direct", 20, node.ConnDirect, 30*time.Second)
	t.Logf("20 messages each way over the direct link in %v", took.Round(time.Millisecond))
	waitFor(t, 15*time.Second, "the relayed connection closed after the move", func() bool {
		return metricValue(t, r1, "peerchat_relay_circuits") == 0
	})

	// The direct link breaks (sockets reset on both sides, the path
	// blocked again so no punch can restore it): back to the relay.
	blockDirect(t, true)
	for _, pair := range [][2]labPeer{{labPeerA, labPeerB}, {labPeerB, labPeerA}} {
		sh(t, "ip", "netns", "exec", pair[0].ns(), "ss", "-K", "dst", pair[1].wanIP)
	}
	took = waitLink(t, a, b, node.ConnRelayed, r1.id.String(), 30*time.Second)
	t.Logf("fell back to the relay %v after the direct link broke", took.Round(time.Millisecond))
	took = exchange(t, a, b, "fallback", 20, node.ConnRelayed, 30*time.Second)
	t.Logf("20 messages each way over the relay again in %v", took.Round(time.Millisecond))
}

// Symmetric NAT (MASQUERADE --random-fully): hole punching cannot work,
// chat runs over the relay and the link stays relayed. Then the relay is
// killed and the second configured relay, started only now, takes over;
// what was sent in between is delivered.
func testSymmetricNAT(t *testing.T, bin string) {
	buildLab(t, true)
	relays := prepareRelays(t)
	r1, r2 := relays[0], relays[1]
	p1 := startLabRelay(t, bin, r1)
	a := startLabNode(t, bin, labPeerA, r1, r2)
	b := startLabNode(t, bin, labPeerB, r1, r2)
	t.Cleanup(func() { dumpIfFailed(t) }) // before the processes stop

	waitLink(t, a, b, node.ConnRelayed, r1.id.String(), 30*time.Second)
	relayedAt := time.Now()
	took := exchange(t, a, b, "relayed", 100, node.ConnRelayed, 60*time.Second)
	t.Logf("100 messages each way over the relayed link, none lost, in %v", took.Round(time.Millisecond))
	// Hold long enough for the punch at connect time and at least one
	// retry (every 10 s) to fail; the link must stay relayed throughout.
	for time.Since(relayedAt) < 25*time.Second {
		if kind, via := a.link(t, b); kind != node.ConnRelayed || via != r1.id.String() {
			t.Fatalf("behind symmetric NATs the link became %s %s", kind, via)
		}
		time.Sleep(500 * time.Millisecond)
	}

	t.Run("failover", func(t *testing.T) {
		p1.stop(syscall.SIGKILL) //: the relay vanishes without saying goodbye
		fromA := a.post(t, "meanwhile-a", 10)
		fromB := b.post(t, "meanwhile-b", 10)
		start := time.Now()
		startLabRelay(t, bin, r2)
		t.Logf("second relay up %v after starting it", time.Since(start).Round(time.Millisecond))
		waitLink(t, a, b, node.ConnRelayed, r2.id.String(), 30*time.Second-time.Since(start))
		t.Logf("link relayed through the second relay %v after starting it", time.Since(start).Round(time.Millisecond))
		waitFor(t, 30*time.Second-time.Since(start), "messages sent without a relay delivered", func() bool {
			return hasAll(b.texts(t, a), fromA) && hasAll(a.texts(t, b), fromB)
		})
		t.Logf("chat resumed, the 10+10 messages sent meanwhile delivered, %v after starting the second relay", time.Since(start).Round(time.Millisecond))
		took := exchange(t, a, b, "after-failover", 20, node.ConnRelayed, 30*time.Second)
		t.Logf("20 messages each way through the second relay in %v", took.Round(time.Millisecond))
	})
}
