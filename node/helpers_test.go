package node

import (
	"context"
	"fmt"
	"github.com/libp2p/go-libp2p/core/peer"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/protocol"
)

// testNode starts a node on loopback with mDNS off, in dir (a new
// temporary folder when empty), and closes it when the test ends. Each of
// setup is a func(*Config) that changes the configuration, or an Option.
func testNode(t testing.TB, dir string, setup ...any) *Node {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := Config{
		DataDir:     dir,
		Name:        fmt.Sprintf("node-%d", time.Now().UnixNano()%10000),
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"},
		NoMDNS:      true,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:    prometheus.NewRegistry(),
	}
	var opts []Option
	for _, s := range setup {
		switch s := s.(type) {
		case func(*Config):
			s(&cfg)
		case Option:
			opts = append(opts, s)
		default:
			t.Fatalf("testNode: setup of type %T", s)
		}
	}
	n, err := New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// bootstrapFrom makes a node dial the given nodes at start.
func bootstrapFrom(nodes ...*Node) func(*Config) {
	return func(c *Config) {
		for _, n := range nodes {
			c.Bootstrap = append(c.Bootstrap, n.Addrs()[0].String())
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// roomPeers returns how many peers n sees in room.
func roomPeers(n *Node, room string) int {
	for _, r := range n.Rooms() {
		if r.Name == room {
			return r.Peers
		}
	}
	return -1
}

// historyIDs returns every message ID of room on n, in history order.
func historyIDs(t testing.TB, n *Node, room string) []string {
	t.Helper()
	var ids []string
	before := ""
	for {
		msgs, more, err := n.History(context.Background(), room, before, 500)
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		page := make([]string, len(msgs))
		for i, m := range msgs {
			page[i] = m.ID
		}
		ids = append(page, ids...)
		if !more {
			return ids
		}
		before = msgs[0].ID
	}
}

func mustSend(t testing.TB, n *Node, room, text string) protocol.Message {
	t.Helper()
	m, created, err := n.Send(context.Background(), room, text, "")
	if err != nil || !created {
		t.Fatalf("send %q: created=%v err=%v", text, created, err)
	}
	return m
}

func mustJoin(t testing.TB, room string, nodes ...*Node) {
	t.Helper()
	for _, n := range nodes {
		if err := n.JoinRoom(context.Background(), room); err != nil {
			t.Fatalf("join %s: %v", room, err)
		}
	}
}

func mustParseID(t testing.TB, s string) protocol.ID {
	t.Helper()
	id, err := protocol.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func peerInfo(n *Node) peer.AddrInfo { return peer.AddrInfo{ID: n.ID(), Addrs: n.Host().Addrs()} }

// sendRetrying sends text as a client does that retries when the node
// says it is over the rate limit, waiting a little longer each time.
func sendRetrying(t testing.TB, n *Node, room, text string) protocol.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	wait := 5 * time.Millisecond
	for {
		m, _, err := n.Send(context.Background(), room, text, "")
		if err == nil {
			return m
		}
		if ErrorCode(err) != CodeRateLimited || time.Now().After(deadline) {
			t.Fatalf("send %q: %v", text, err)
		}
		time.Sleep(wait) // the client's backoff, not a wait for a result
		wait = min(2*wait, 100*time.Millisecond)
	}
}
