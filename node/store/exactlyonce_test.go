package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/peerchat/peerchat/protocol"
)

func TestACleanRestartContinuesEventNumbersWithoutAGap(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	for range 3 {
		if err := s.AppendEvents(ctx, false, protocol.Event{Type: protocol.EventTyping}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if got := s.LastSeq(); got != 3 {
		t.Fatalf("after a clean restart LastSeq = %d, want 3", got)
	}
}

// A received message is applied at once (Has sees it, so gossip and sync
// do not fetch it twice) but its event must wait for the flush: a reader
// that saw it before the flush could lose it to a crash and meet it again,
// under another seq, when sync brings it back.
func TestAReceivedEventIsNotShownBeforeItsBatchIsFlushed(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	hold := make(chan struct{})
	var release sync.Once
	// Registered after openTest, so it runs before the store's Close,
	// which would otherwise wait for a held flusher.
	t.Cleanup(func() { release.Do(func() { close(hold) }) })
	flushing := make(chan struct{}, 1)
	s.beforeFlush = func() {
		select {
		case flushing <- struct{}{}:
		default:
		}
		<-hold
	}
	before := fsyncs(t, s)
	env, msg := newMessage(t, key(t), "r", 1, "held", "")
	if err := s.AddMessageAsync(ctx, env, msg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-flushing:
	case <-time.After(5 * time.Second):
		t.Fatal("the flusher did not start a flush for the received message")
	}
	if has, err := s.Has(ctx, env.ID()); err != nil || !has {
		t.Fatalf("Has = %v, %v before the flush; want the message applied", has, err)
	}
	if got := s.LastSeq(); got != 0 {
		t.Errorf("LastSeq = %d before the flush, want 0", got)
	}
	if evs, err := s.Events(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("Events before the flush = %d events, %v; want none", len(evs), err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := s.WaitEvents(waitCtx, 0)
	cancel()
	if err == nil {
		t.Error("WaitEvents woke before the flush")
	}

	release.Do(func() { close(hold) })
	waitUntil(t, 5*time.Second, "the event to be shown after the flush", func() bool { return s.LastSeq() == 1 })
	// Pebble counts a flush in its metrics just after it wakes the waiter.
	waitUntil(t, 5*time.Second, "the flush to be counted", func() bool { return fsyncs(t, s) > before })
	evs, err := s.Events(ctx, 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Events after the flush = %+v, %v; want the message's event", evs, err)
	}
}

// A local send waits for its own synced commit; that commit flushes every
// earlier batch too (the WAL is flushed in order), so the received events
// staged before it are shown with it, in seq order.
func TestASyncedCommitShowsTheReceivedEventsStagedBeforeIt(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	hold := make(chan struct{})
	s.beforeFlush = func() { <-hold }
	defer close(hold)
	k := key(t)
	env, msg := newMessage(t, k, "r", 1, "received", "")
	if err := s.AddMessageAsync(ctx, env, msg); err != nil {
		t.Fatal(err)
	}
	env2, msg2 := newMessage(t, k, "r", 2, "sent", "c1")
	res, err := s.AddMessage(ctx, env2, msg2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Event.Seq != 2 {
		t.Fatalf("the local send got seq %d, want 2", res.Event.Seq)
	}
	evs, err := s.Events(ctx, 0, 10)
	if err != nil || len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 2 {
		t.Fatalf("events once the send returned = %+v, %v; want seqs 1 and 2", evs, err)
	}
}

// crashReader follows the event log the way an API client does: from the
// last seq it was given, recording each event. Once crashed is set it
// stops recording, since what it reads after the crash instant would not
// exist had the process really died then.
type crashReader struct {
	s       *Store
	crashed *atomic.Bool
	mu      sync.Mutex
	seen    map[uint64]string // seq -> event JSON
	last    uint64
}

func (r *crashReader) run(ctx context.Context) {
	for ctx.Err() == nil {
		r.mu.Lock()
		since := r.last
		r.mu.Unlock()
		evs, err := r.s.Events(ctx, since, 64)
		if err != nil {
			return
		}
		// Checked after the read: if the crash had not begun by now, the
		// events read were shown before it, hence flushed before it.
		if r.crashed.Load() {
			return
		}
		r.mu.Lock()
		for _, ev := range evs {
			r.seen[ev.Seq] = string(ev.JSON)
			r.last = ev.Seq
		}
		r.mu.Unlock()
		if len(evs) == 0 {
			wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			r.s.WaitEvents(wctx, since)
			cancel()
		}
	}
}

func messageIDOf(t *testing.T, js string) string {
	t.Helper()
	var ev protocol.Event
	if err := json.Unmarshal([]byte(js), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Message == nil {
		return ""
	}
	return ev.Message.ID
}

// TestAfterACrashNoSeqIsReusedAndAResumingReaderSeesEachMessageOnce
// crashes the store at random moments of a stream of received and sent
// messages (Pebble's crashable file system keeps exactly what was
// flushed), reopens it, delivers every message again as sync would, and
// checks what a reader resuming from its last seq gets: every seq it was
// handed still names the same event, and every message reaches it exactly
// once.
func TestAfterACrashNoSeqIsReusedAndAResumingReaderSeesEachMessageOnce(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	k := key(t)
	for round := range 5 {
		fs := vfs.NewCrashableMem()
		opts := Options{MinFreeBytes: -1}
		s, err := open("/store", opts, fs)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var crashed atomic.Bool
		r := &crashReader{s: s, crashed: &crashed, seen: map[uint64]string{}}
		readerDone := make(chan struct{})
		go func() { defer close(readerDone); r.run(ctx) }()

		const total = 400
		type sent struct {
			env *protocol.Envelope
			msg protocol.Message
		}
		var all []sent
		crashAt := 50 + rng.Intn(total-50)
		var clone *vfs.MemFS
		for i := range total {
			cid := ""
			if i%4 == 0 {
				cid = fmt.Sprintf("c%d-%d", round, i)
			}
			env, msg := newMessage(t, k, "r", uint64(i+1), fmt.Sprintf("m %d", i), cid)
			all = append(all, sent{env, msg})
			if cid != "" {
				_, err = s.AddMessage(ctx, env, msg)
			} else {
				err = s.AddMessageAsync(ctx, env, msg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if i == crashAt {
				// The crash instant: the flag first, so that every event
				// the reader records was shown before the clone was taken.
				crashed.Store(true)
				clone = fs.CrashClone(vfs.CrashCloneCfg{})
			}
		}
		cancel()
		<-readerDone
		s.Close()

		s, err = open("/store", Options{MinFreeBytes: -1}, clone)
		if err != nil {
			t.Fatalf("round %d: reopen after the crash: %v", round, err)
		}
		if s.LastSeq() < r.last {
			t.Fatalf("round %d: after the crash LastSeq = %d, below seq %d a reader was given", round, s.LastSeq(), r.last)
		}
		kept := s.LastSeq()
		// Sync brings back whatever the crash took.
		bg := context.Background()
		for _, m := range all {
			if err := s.AddMessageAsync(bg, m.env, m.msg); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(bg); err != nil {
			t.Fatal(err)
		}
		evs, err := s.Events(bg, 0, 10*total)
		if err != nil {
			t.Fatal(err)
		}
		bySeq := map[uint64]string{}
		for _, ev := range evs {
			bySeq[ev.Seq] = string(ev.JSON)
		}
		times := map[string]int{}
		for seq, js := range r.seen {
			if bySeq[seq] != js {
				t.Errorf("round %d: seq %d named %s before the crash and %q after", round, seq, js, bySeq[seq])
			}
			times[messageIDOf(t, js)]++
		}
		for _, ev := range evs {
			if ev.Seq > r.last {
				times[messageIDOf(t, string(ev.JSON))]++
			}
		}
		for _, m := range all {
			if n := times[m.msg.ID]; n != 1 {
				t.Errorf("round %d: message %q reached the resuming reader %d times", round, m.msg.Text, n)
			}
		}
		t.Logf("round %d: crashed after %d of %d messages; the reader had %d events up to seq %d; the crash kept %d; %d events after recovery",
			round, crashAt+1, total, len(r.seen), r.last, kept, len(evs))
		s.Close()
		if t.Failed() {
			return
		}
	}
}
