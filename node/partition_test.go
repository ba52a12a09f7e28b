package node

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestPartitionedRoomHealsWithEveryMessageOnceInOneOrder(t *testing.T) {
	// Each node posts 100 or 150 messages at once, with default flags:
	// within its own burst, far beyond the first burst its peers allow an
	// author new to them, so gossip refuses most of it and sync, started
	// by the refusals, must bring the rest at once.
	var nodes []*Node
	for i := 0; i < 5; i++ {
		nodes = append(nodes, testNode(t, "", bootstrapFrom(nodes...)))
	}
	mustJoin(t, "split", nodes...)
	for _, n := range nodes {
		waitFor(t, 15*time.Second, "full mesh", func() bool { return roomPeers(n, "split") == 4 })
	}
	left, right := nodes[:2], nodes[2:]
	// Split 2 | 3: every cross link is closed and refused both ways.
	for _, l := range left {
		for _, r := range right {
			l.Block(r.ID())
			r.Block(l.ID())
		}
	}
	for _, n := range nodes {
		want := 1
		if slices.Contains(right, n) {
			want = 2
		}
		waitFor(t, 10*time.Second, "split", func() bool { return len(n.Peers()) == want })
	}
	var wg sync.WaitGroup
	for side, group := range [][]*Node{left, right} {
		for i := 0; i < 300; i++ {
			n := group[i%len(group)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				mustSend(t, n, "split", fmt.Sprintf("side %d message %d", side, i))
			}()
		}
	}
	wg.Wait()
	sent := time.Now()
	for _, n := range nodes {
		waitFor(t, 10*time.Second, "each side holds its 300", func() bool { return len(historyIDs(t, n, "split")) == 300 })
	}
	t.Logf("each side whole %s after its last send", time.Since(sent).Round(time.Millisecond))
	// Heal: unblock and reconnect.
	for _, l := range left {
		for _, r := range right {
			l.Unblock(r.ID())
			r.Unblock(l.ID())
		}
	}
	healed := time.Now()
	for _, r := range right {
		for _, l := range left {
			wantPeer(r, peerInfo(l))
		}
	}
	for _, n := range nodes {
		waitFor(t, 10*time.Second-time.Since(healed), "600 messages on every node", func() bool { return len(historyIDs(t, n, "split")) == 600 })
	}
	t.Logf("converged %s after healing", time.Since(healed).Round(time.Millisecond))
	ref := historyIDs(t, nodes[0], "split")
	for i, n := range nodes[1:] {
		if got := historyIDs(t, n, "split"); !slices.Equal(got, ref) {
			t.Fatalf("node %d's history differs from node 0's", i+1)
		}
	}
	// Every node reported each message exactly once.
	for i, n := range nodes {
		seen := map[string]int{}
		for _, ev := range eventsOf(t, n, 0, "message") {
			seen[ev.Message.ID]++
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("node %d reported message %s %d times", i, id, c)
			}
		}
		if len(seen) != 600 {
			t.Fatalf("node %d reported %d messages, want 600", i, len(seen))
		}
	}
}
