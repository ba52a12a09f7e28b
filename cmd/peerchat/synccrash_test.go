package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestKill9DuringALargeSyncLeavesAConsistentStoreAndSyncCompletes kills a
// node while it is receiving a large history by sync, restarts it, and
// checks that its store reads back whole (no duplicate, history order) and
// that the sync then completes.
func TestKill9DuringALargeSyncLeavesAConsistentStoreAndSyncCompletes(t *testing.T) {
	const room, total = "bigsync", 12000
	// The holder posts 12,000 messages as fast as it can: far beyond the
	// rate limit, which this test is not about.
	a := startLocalNode(t, "holder", t.TempDir(), "--join", room, "--rate-limit", "1000000", "--rate-burst", "1000000")
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += 8 {
				a.call("POST", "/v1/rooms/"+room+"/messages", map[string]string{"text": fmt.Sprintf("history %d %s", i, "padding padding padding padding")}, nil, http.StatusCreated)
			}
		}()
	}
	wg.Wait()

	dirB := t.TempDir()
	// The newcomer lifts it too: sync takes no more of an author than the
	// limit allows over the author's own send times.
	fast := []string{"--rate-limit", "1000000", "--rate-burst", "1000000"}
	b := startLocalNode(t, "newcomer", dirB, append([]string{"--join", room, "--bootstrap", a.listen[0]}, fast...)...)
	// Kill the newcomer as soon as the sync has brought part of the history.
	var received int
	eventually(t, 60*time.Second, time.Millisecond, func() string {
		var out struct {
			Syncs []struct {
				Room     string `json:"room"`
				Received int    `json:"received_total"`
			} `json:"syncs"`
		}
		if st, _, _ := b.do("GET", "/v1/sync", nil); st != http.StatusOK {
			return "sync status not readable"
		}
		b.call("GET", "/v1/sync", nil, &out, http.StatusOK)
		received = 0
		for _, s := range out.Syncs {
			if s.Room == room {
				received += s.Received
			}
		}
		if received < 1000 {
			return fmt.Sprintf("only %d envelopes received yet", received)
		}
		return ""
	})
	b.kill()
	t.Logf("killed the newcomer after it had received %d of %d envelopes", received, total)

	b = startLocalNode(t, "newcomer", dirB, append([]string{"--bootstrap", a.listen[0]}, fast...)...)
	first := b.history(room)
	if err := consistent(first); err != "" {
		t.Fatalf("store after the crash: %s", err)
	}
	t.Logf("%d messages readable right after restart", len(first))
	start := time.Now()
	eventually(t, 60*time.Second, 100*time.Millisecond, func() string {
		if n := len(b.history(room)); n != total {
			return fmt.Sprintf("newcomer holds %d of %d", n, total)
		}
		return ""
	})
	t.Logf("sync completed %s after restart", time.Since(start).Round(time.Millisecond))
	got, want := b.history(room), a.history(room)
	if err := consistent(got); err != "" {
		t.Fatalf("store after sync: %s", err)
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("message %d differs between the nodes: %s vs %s", i, got[i].ID, want[i].ID)
		}
	}
}

// consistent checks a history for duplicates and empty entries.
func consistent(msgs []apiMessage) string {
	seen := map[string]bool{}
	for i, m := range msgs {
		if m.ID == "" || m.Text == "" {
			return fmt.Sprintf("message %d is empty", i)
		}
		if seen[m.ID] {
			return fmt.Sprintf("message %s appears twice", m.ID)
		}
		seen[m.ID] = true
	}
	return ""
}
