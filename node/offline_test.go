package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peerchat/peerchat/node/store"
)

func TestStoppedNodeCatchesUpOnEverythingSentWhileItWasAway(t *testing.T) {
	// a and b post 500 messages each as fast as the default rate limit
	// lets them, as a client that retries on 429 does.
	a := testNode(t, "")
	b := testNode(t, "", bootstrapFrom(a))
	dirC := t.TempDir()
	c := testNode(t, dirC, bootstrapFrom(a, b))
	mustJoin(t, "away", a, b, c)
	waitFor(t, 10*time.Second, "mesh", func() bool { return roomPeers(c, "away") == 2 })
	mustSend(t, a, "away", "before")
	waitFor(t, 5*time.Second, "first message on c", func() bool { return len(historyIDs(t, c, "away")) == 1 })
	c.Close()
	var wg sync.WaitGroup
	for _, n := range []*Node{a, b} {
		wg.Go(func() {
			for i := 0; i < 500; i++ {
				sendRetrying(t, n, "away", fmt.Sprintf("%s %d", n.Name(), i))
			}
		})
	}
	wg.Wait()
	waitFor(t, 20*time.Second, "a and b agree", func() bool {
		return len(historyIDs(t, a, "away")) == 1001 && len(historyIDs(t, b, "away")) == 1001
	})
	start := time.Now()
	c = testNode(t, dirC) // it remembers its peers and its room
	waitFor(t, 30*time.Second, "c caught up", func() bool { return len(historyIDs(t, c, "away")) == 1001 })
	t.Logf("caught up on 1,000 messages in %s", time.Since(start).Round(time.Millisecond))
	if !slices.Equal(historyIDs(t, c, "away"), historyIDs(t, a, "away")) {
		t.Fatal("c's history differs from a's")
	}
}

func TestStoreNodeCarriesMessagesBetweenPeersNeverOnlineTogether(t *testing.T) {
	s := testNode(t, "", func(c *Config) { c.Retention = store.Retention{MaxAge: time.Hour} })
	mustJoin(t, "relay", s)
	a := testNode(t, "", bootstrapFrom(s))
	mustJoin(t, "relay", a)
	waitFor(t, 10*time.Second, "a in the store's room", func() bool { return roomPeers(s, "relay") == 1 })
	var sent []string
	for i := 0; i < 20; i++ {
		sent = append(sent, mustSend(t, a, "relay", fmt.Sprintf("for b %d", i)).ID)
	}
	waitFor(t, 10*time.Second, "the store holds a's messages", func() bool { return len(historyIDs(t, s, "relay")) == 20 })
	a.Close()
	b := testNode(t, "", bootstrapFrom(s))
	mustJoin(t, "relay", b)
	waitFor(t, 10*time.Second, "b got a's messages from the store", func() bool { return slices.Equal(historyIDs(t, b, "relay"), sent) })
}

func TestRetentionDropsOldHistoryAndSyncDoesNotBringItBack(t *testing.T) {
	a := testNode(t, "")
	mustJoin(t, "ret", a)
	for i := 0; i < 30; i++ {
		mustSend(t, a, "ret", fmt.Sprintf("m %d", i))
	}
	// A store node that keeps at most about ten messages' worth of bytes.
	all := historyIDs(t, a, "ret")
	env, err := storeOf(a).Envelope(context.Background(), mustParseID(t, all[0]))
	if err != nil {
		t.Fatal(err)
	}
	limit := int64(len(env.Bytes()) * 10)
	s := testNode(t, "", bootstrapFrom(a), func(c *Config) { c.Retention = store.Retention{MaxBytes: limit} })
	mustJoin(t, "ret", s)
	waitFor(t, 10*time.Second, "store synced", func() bool { return len(historyIDs(t, s, "ret")) == len(all) })
	retentionOf(s).Prune(context.Background(), "ret")
	kept := historyIDs(t, s, "ret")
	if len(kept) > 11 || len(kept) == 0 || !slices.Equal(kept, all[len(all)-len(kept):]) {
		t.Fatalf("after pruning the store keeps %d messages; want the newest ~10", len(kept))
	}
	if retentionOf(s).Horizon("ret") == 0 {
		t.Fatal("pruning did not raise the horizon")
	}
	if err := syncWith(context.Background(), s, "ret", a.ID()); err != nil {
		t.Fatal(err)
	}
	if got := historyIDs(t, s, "ret"); !slices.Equal(got, kept) {
		t.Fatalf("sync brought pruned history back: %d messages", len(got))
	}
	mustSend(t, a, "ret", "new")
	waitFor(t, 10*time.Second, "new message on the store", func() bool { return len(historyIDs(t, s, "ret")) == len(kept)+1 })
}
