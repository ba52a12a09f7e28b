package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// fsyncs counts the WAL flushes Pebble has made.
func fsyncs(t *testing.T, s *Store) uint64 {
	t.Helper()
	h := s.db.DB.Metrics().LogWriter.FsyncLatency
	if h == nil {
		t.Fatal("pebble reports no WAL flush histogram")
	}
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReceivedMessagesShareAFlushThatComesWithoutFurtherWrites(t *testing.T) {
	s := openTest(t, "")
	k := key(t)
	ctx := context.Background()
	before := fsyncs(t, s)
	env, msg := newMessage(t, k, "r", 1, "first", "")
	if err := s.AddMessageAsync(ctx, env, msg); err != nil {
		t.Fatal(err)
	}
	// The flusher flushes the message, with nothing else written to bring
	// it about, and then shows its event.
	waitUntil(t, 5*time.Second, "the first received message to be shown", func() bool { return s.LastSeq() == 1 })
	// Pebble counts a flush in its metrics just after it wakes the waiter.
	waitUntil(t, 5*time.Second, "the flush to be counted", func() bool { return fsyncs(t, s) > before })

	// A burst shares flushes: the flusher starts at most one every
	// minFlushGap, however many batches the committer applies meanwhile.
	const burst = 300
	start, startSeq, began := fsyncs(t, s), s.LastSeq(), time.Now()
	for i := range burst {
		env, msg := newMessage(t, k, "r", uint64(i+2), fmt.Sprintf("burst %d", i), "")
		if err := s.AddMessageAsync(ctx, env, msg); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 5*time.Second, "the burst to be shown", func() bool { return s.LastSeq() >= startSeq+burst })
	elapsed := time.Since(began)
	bound := uint64(elapsed/minFlushGap) + 1
	if n := fsyncs(t, s) - start; n > bound {
		t.Fatalf("%d received messages took %d flushes in %v, want at most one per %v (%d)", burst, n, elapsed, minFlushGap, bound)
	} else {
		t.Logf("%d received messages took %d flushes in %v", burst, n, elapsed)
	}
}
