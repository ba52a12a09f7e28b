package node

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/peerchat/peerchat/node/internal/push"
	"github.com/peerchat/peerchat/protocol"
)

// stockRelay is a go-libp2p circuit relay v2 with nothing of peerchat in
// it, as most public relays are: the resources given (the defaults unless
// a test shortens a limit), and a tracer counting the bytes it relays.
type stockRelay struct {
	host  host.Host
	bytes atomic.Int64
}

func startStockRelay(t *testing.T, res relayv2.Resources) *stockRelay {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	r := &stockRelay{host: h}
	svc, err := relayv2.New(h, relayv2.WithResources(res), relayv2.WithMetricsTracer(relayTracer{r}))
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); h.Close() })
	return r
}

// addr is the relay's address with its /p2p/ part.
func (r *stockRelay) addr() string {
	return fmt.Sprintf("%s/p2p/%s", r.host.Addrs()[0], r.host.ID())
}

// circuitTo is p's relayed address through r, as p would share it.
func (r *stockRelay) circuitTo(p peer.ID) string {
	return fmt.Sprintf("%s/p2p-circuit/p2p/%s", r.addr(), p)
}

// relayTracer counts relayed bytes; the relay calls it for each chunk.
type relayTracer struct{ r *stockRelay }

func (relayTracer) RelayStatus(bool)                      {}
func (relayTracer) ConnectionOpened()                     {}
func (relayTracer) ConnectionClosed(time.Duration)        {}
func (relayTracer) ConnectionRequestHandled(pbv2.Status)  {}
func (relayTracer) ReservationAllowed(bool)               {}
func (relayTracer) ReservationClosed(int)                 {}
func (relayTracer) ReservationRequestHandled(pbv2.Status) {}
func (t relayTracer) BytesTransferred(n int)              { t.r.bytes.Add(int64(n)) }

// behindNAT makes a node that cannot be dialled and dials nothing but
// the relay: it listens nowhere, so the only link two such nodes can have
// is a relayed circuit.
func behindNAT(relays ...string) func(*Config) {
	return func(c *Config) {
		c.HostOptions = append(c.HostOptions, libp2p.NoListenAddrs)
		c.Relays = relays
	}
}

// limitedPair starts bob reserved on r and alice bootstrapped with the
// relayed address bob shares, both in room, and waits until each counts the other
// as a room peer over the limited circuit.
func limitedPair(t *testing.T, r *stockRelay, room string, setup ...any) (alice, bob *Node) {
	t.Helper()
	bob = testNode(t, "", append([]any{behindNAT(r.addr()), func(c *Config) { c.Rooms = []string{room} }}, setup...)...)
	waitFor(t, 10*time.Second, "bob's reservation", func() bool {
		ri := bob.Relays()
		return len(ri) == 1 && ri[0].Reserved
	})
	share := bob.ShareAddr()
	if want := r.circuitTo(bob.ID()); share != want {
		t.Fatalf("bob shares %q, want %q", share, want)
	}
	alice = testNode(t, "", append([]any{behindNAT(), func(c *Config) {
		c.Rooms = []string{room}
		c.Bootstrap = []string{share}
	}}, setup...)...)
	waitFor(t, 10*time.Second, "alice and bob room peers over the circuit", func() bool {
		return roomPeers(alice, room) == 1 && roomPeers(bob, room) == 1
	})
	for _, c := range alice.Host().Network().ConnsToPeer(bob.ID()) {
		if !c.Stat().Limited {
			t.Fatalf("alice has an unlimited link to bob: %s", c.RemoteMultiaddr())
		}
	}
	return alice, bob
}

// exchange sends n messages each way and waits until both hold all of
// them exactly once, returning how long that took.
func exchange(t *testing.T, a, b *Node, room, tag string, n int) time.Duration {
	t.Helper()
	start := time.Now()
	var want []string
	for i := range n {
		want = append(want, mustSend(t, a, room, fmt.Sprintf("%s-a-%d", tag, i)).ID)
		want = append(want, mustSend(t, b, room, fmt.Sprintf("%s-b-%d", tag, i)).ID)
	}
	for _, nd := range []*Node{a, b} {
		waitFor(t, 20*time.Second, "every message on both sides", func() bool {
			ids := historyIDs(t, nd, room)
			for _, id := range want {
				if !slices.Contains(ids, id) {
					return false
				}
			}
			return true
		})
		ids := historyIDs(t, nd, room)
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("message %s stored twice", id)
			}
			seen[id] = true
		}
	}
	return time.Since(start)
}

// Two nodes whose only link is a stock relay's limited circuit (default
// limits: 2 minutes, 128 KiB each way) chat over it: push carries the
// messages, sync runs on the circuit, nothing is lost or doubled.
func TestChatOverLimitedCircuit(t *testing.T) {
	r := startStockRelay(t, relayv2.DefaultResources())
	alice, bob := limitedPair(t, r, "den")
	var link PeerInfo
	for _, pi := range alice.Peers() {
		if pi.ID == bob.ID().String() {
			link = pi
		}
	}
	if link.Connection != ConnRelayed || !link.Limited || link.Transport != "tcp" || link.Relay != r.host.ID().String() ||
		len(link.Links) != 1 || link.Links[0].Direction != "outbound" || link.IsRelay {
		t.Errorf("alice's link to bob = %+v, want one limited relayed tcp link through the relay, dialled by alice", link)
	}
	took := exchange(t, alice, bob, "den", "one", 20)
	t.Logf("20 messages each way over a limited circuit in %v; relay carried %d bytes", took.Round(time.Millisecond), r.bytes.Load())
	if got := counter(t, alice, "peerchat_push_envelopes_total", "direction", "received"); got == 0 {
		t.Errorf("alice received nothing by push")
	}
	if got := counter(t, alice, "peerchat_circuit_bytes_sent_total", "", ""); got == 0 || got > float64(relayv2.DefaultLimit().Data) {
		t.Errorf("alice wrote %v bytes on the circuit, want some and at most the relay's limit", got)
	}
}

// When the relay cuts the circuit at its time limit, the dialling side
// opens a fresh one and chat resumes, with what was sent meanwhile.
func TestChatResumesAfterCircuitReset(t *testing.T) {
	var logs logLines
	res := relayv2.DefaultResources()
	res.Limit = &relayv2.RelayLimit{Duration: 3 * time.Second, Data: 1 << 17}
	r := startStockRelay(t, res)
	alice, bob := limitedPair(t, r, "den", logTo(&logs))
	exchange(t, alice, bob, "den", "before", 20)
	waitFor(t, 10*time.Second, "the relay's time limit cutting the circuit", func() bool {
		return counter(t, alice, "peerchat_circuits_closed_total", "cause", push.CauseTimeLimit) >= 1
	})
	if !logs.has("relayed circuit closed: the relay's time limit ran out") {
		t.Errorf("the circuit's end was not logged in words")
	}
	took := exchange(t, alice, bob, "den", "after", 20)
	t.Logf("20 more each way %v after the reset", took.Round(time.Millisecond))
}

// A relay with a small data limit: the node closes each circuit before
// it reaches the limit and dials a fresh one, so the relay never stalls a
// direction mid-frame; every close is a renewal by one of the two.
func TestCircuitRenewedBeforeDataLimit(t *testing.T) {
	res := relayv2.DefaultResources()
	res.Limit = &relayv2.RelayLimit{Duration: 2 * time.Minute, Data: 16 << 10}
	r := startStockRelay(t, res)
	alice, bob := limitedPair(t, r, "den")
	exchange(t, alice, bob, "den", "bulk", 60)
	aRenewed := counter(t, alice, "peerchat_circuits_closed_total", "cause", push.CauseRenewed)
	bRenewed := counter(t, bob, "peerchat_circuits_closed_total", "cause", push.CauseRenewed)
	aReset := counter(t, alice, "peerchat_circuits_closed_total", "cause", push.CauseReset)
	bReset := counter(t, bob, "peerchat_circuits_closed_total", "cause", push.CauseReset)
	est := counter(t, alice, "peerchat_circuit_bytes_sent_total", "", "") + counter(t, bob, "peerchat_circuit_bytes_sent_total", "", "")
	t.Logf("renewed: alice %v bob %v; reset: alice %v bob %v; estimated %v bytes, relay carried %d",
		aRenewed, bRenewed, aReset, bReset, est, r.bytes.Load())
	if aRenewed+bRenewed == 0 {
		t.Errorf("no circuit renewed with 60 messages each way through a 16 KiB limit")
	}
	if aReset > bRenewed || bReset > aRenewed {
		t.Errorf("a circuit ended that neither side renewed (the relay cut it at its data limit)")
	}
}

// logLines keeps the messages of every record logged to it.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Message)
	l.mu.Unlock()
	return nil
}

func (l *logLines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(m string) bool { return strings.Contains(m, s) })
}

// logTo sends a node's logs to l.
func logTo(l *logLines) func(*Config) {
	return func(c *Config) { c.Logger = slog.New(l) }
}

// counter reads a counter of n's registry, summed over series whose
// label k is v (all series when k is empty).
func counter(t *testing.T, n *Node, name, k, v string) float64 {
	t.Helper()
	fams, err := n.cfg.Registry.(*prometheus.Registry).Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if k == "" || hasLabel(m, k, v) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == k && lp.GetValue() == v {
			return true
		}
	}
	return false
}

// Once a direct link joins the limited circuit, gossip carries the room
// and push writes nothing more: direct links are preferred.
func TestPushStopsWhenADirectLinkExists(t *testing.T) {
	r := startStockRelay(t, relayv2.DefaultResources())
	bob := testNode(t, "", func(c *Config) { c.Relays, c.Rooms = []string{r.addr()}, []string{"den"} })
	waitFor(t, 10*time.Second, "bob's reservation", func() bool { return len(bob.RelayedAddrs()) > 0 })
	alice := testNode(t, "", behindNAT(), func(c *Config) {
		c.Rooms = []string{"den"}
		c.Bootstrap = []string{bob.ShareAddr()}
	})
	waitFor(t, 10*time.Second, "alice and bob room peers over the circuit", func() bool {
		return roomPeers(alice, "den") == 1 && roomPeers(bob, "den") == 1
	})
	exchange(t, alice, bob, "den", "limited", 5)
	if counter(t, alice, "peerchat_push_envelopes_total", "direction", "sent") == 0 {
		t.Fatal("alice pushed nothing over the limited circuit")
	}

	var direct []string
	for _, a := range bob.Addrs() {
		if !strings.Contains(a.String(), "p2p-circuit") {
			direct = append(direct, a.String())
		}
	}
	ai, err := peer.AddrInfoFromString(direct[0])
	if err != nil {
		t.Fatal(err)
	}
	// libp2p would otherwise answer with the limited circuit it has.
	ctx := network.WithForceDirectDial(context.Background(), "a direct link besides the circuit")
	if err := alice.Host().Connect(ctx, *ai); err != nil {
		t.Fatalf("alice dials bob directly: %v", err)
	}
	waitFor(t, 10*time.Second, "bob in alice's room topic over the direct link", func() bool {
		return slices.Contains(alice.PubSub().ListPeers(protocol.Topic("den")), bob.ID()) && len(alice.push.Peers("den")) == 0
	})
	pushed := counter(t, alice, "peerchat_push_envelopes_total", "direction", "sent")
	exchange(t, alice, bob, "den", "direct", 5)
	if got := counter(t, alice, "peerchat_push_envelopes_total", "direction", "sent"); got != pushed {
		t.Errorf("alice pushed %v envelopes with a direct link up, want none", got-pushed)
	}
}

// An envelope larger than a relay lets one circuit carry is not pushed,
// and no circuit is renewed for it; what follows still arrives.
func TestOversizedEnvelopeDoesNotChurnCircuits(t *testing.T) {
	res := relayv2.DefaultResources()
	res.Limit = &relayv2.RelayLimit{Duration: 2 * time.Minute, Data: 16 << 10}
	r := startStockRelay(t, res)
	alice, bob := limitedPair(t, r, "den")
	mustSend(t, alice, "den", strings.Repeat("x", 15000))
	waitFor(t, 10*time.Second, "the large envelope refused by push", func() bool {
		return counter(t, alice, "peerchat_push_dropped_total", "reason", "too_large") == 1
	})
	exchange(t, alice, bob, "den", "after", 5)
	if got := counter(t, alice, "peerchat_circuits_closed_total", "cause", push.CauseRenewed); got != 0 {
		t.Errorf("alice renewed %v circuits for an envelope none could carry", got)
	}
}
