package relay_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/relay"
)

// testLogger discards logs unless PEERCHAT_TEST_LOG is set, which sends
// them to stderr for debugging a failure.
func testLogger() *slog.Logger {
	if os.Getenv("PEERCHAT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startRelay starts an in-process relay on loopback TCP.
func startRelay(t *testing.T, cfg relay.Config) (*relay.Relay, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Logger = testLogger()
	cfg.Registry = reg
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := relay.New(ctx, cfg)
	if err != nil {
		t.Fatalf("start relay: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, reg
}

// relayAddr returns r's loopback TCP address with its /p2p/ part.
func relayAddr(t *testing.T, r *relay.Relay) string {
	t.Helper()
	for _, a := range r.Addrs() {
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			return a.String()
		}
	}
	t.Fatalf("relay has no TCP address: %v", r.Addrs())
	return ""
}

// startNode starts a node that knows nothing but relays. dir may be empty.
func startNode(t *testing.T, dir string, relays []string, rooms ...string) *node.Node {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.New(ctx, node.Config{
		DataDir:     dir,
		Name:        "test",
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		NoMDNS:      true,
		Rooms:       rooms,
		Relays:      relays,
		Logger:      testLogger(),
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// link returns how n is connected to p: "", "direct" or "relayed", and
// through which relay.
func link(n *node.Node, p peer.ID) (kind, via string) {
	for _, pi := range n.Peers() {
		if pi.ID == p.String() {
			return pi.Connection, pi.Relay
		}
	}
	return "", ""
}

// relayedVia reports whether a and b see each other relayed through r.
func relayedVia(a, b *node.Node, r *relay.Relay) bool {
	ka, va := link(a, b.ID())
	kb, vb := link(b, a.ID())
	id := r.ID().String()
	return ka == node.ConnRelayed && kb == node.ConnRelayed && va == id && vb == id
}

// texts returns the texts of room's stored messages written by author.
func texts(t *testing.T, n *node.Node, room string, author peer.ID) []string {
	t.Helper()
	msgs, _, err := n.History(context.Background(), room, "", 500)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	var out []string
	for _, m := range msgs {
		if m.Author == author.String() {
			out = append(out, m.Text)
		}
	}
	return out
}

// hasAll reports whether every one of want is among got.
func hasAll(got, want []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// metric sums the samples of the named metric whose labels include
// labels.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !labelsMatch(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
