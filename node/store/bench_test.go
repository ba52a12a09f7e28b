package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/peerchat/peerchat/protocol"
)

// These benchmarks price the store's hot paths: a durable append (one
// fsync per group of concurrent writers), reading a page of history and
// the event log. Envelopes are signed before the timer starts: signing is
// protocol's cost, not the store's.

func benchOpen(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

type benchMsg struct {
	env *protocol.Envelope
	msg protocol.Message
}

// benchMessages signs n distinct 200-character messages in room.
func benchMessages(b *testing.B, room string, n int) []benchMsg {
	b.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]benchMsg, n)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range out {
		body, _ := json.Marshal(protocol.MessageBody{Text: fmt.Sprintf("%06d %s", i, strings.Repeat("x", 193)), AuthorName: "bench"})
		env := &protocol.Envelope{Kind: protocol.KindMessage, Room: room, Lamport: uint64(i + 1), SentAt: now, Body: body}
		if err := env.Sign(key); err != nil {
			b.Fatal(err)
		}
		m, err := protocol.MessageFromEnvelope(env)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = benchMsg{env, m}
	}
	return out
}

// BenchmarkAddMessageSerial is one writer waiting for each fsync: the
// latency of one durable send with nobody to share the flush with.
func BenchmarkAddMessageSerial(b *testing.B) {
	s := benchOpen(b)
	msgs := benchMessages(b, "bench", b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.AddMessage(ctx, msgs[i].env, msgs[i].msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddMessageGroupCommit is 64 concurrent writers per CPU, each
// waiting for its own message to be on disk: the group commit shares one
// fsync among every writer queued at the time.
func BenchmarkAddMessageGroupCommit(b *testing.B) {
	s := benchOpen(b)
	msgs := benchMessages(b, "bench", b.N)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if _, err := s.AddMessage(ctx, msgs[i].env, msgs[i].msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAddMessageAsync is what a receiver does with gossip: queue the
// write and move on; the benchmark ends with a Flush, so every message is
// on disk.
func BenchmarkAddMessageAsync(b *testing.B) {
	s := benchOpen(b)
	msgs := benchMessages(b, "bench", b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.AddMessageAsync(ctx, msgs[i].env, msgs[i].msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

func benchFilled(b *testing.B, n int) *Store {
	b.Helper()
	s := benchOpen(b)
	ctx := context.Background()
	for _, m := range benchMessages(b, "bench", n) {
		if err := s.AddMessageAsync(ctx, m.env, m.msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkHistoryPage reads the newest 50 messages of a 10,000-message
// room, as a UI opening the room does.
func BenchmarkHistoryPage(b *testing.B) {
	s := benchFilled(b, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msgs, _, err := s.History(ctx, "bench", nil, 50)
		if err != nil || len(msgs) != 50 {
			b.Fatalf("history: %d messages, %v", len(msgs), err)
		}
	}
}

// BenchmarkItems borrows a 10,000-message room's order index, which every
// sync does before reconciling, while messages keep arriving.
func BenchmarkItems(b *testing.B) {
	s := benchFilled(b, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		items, release, err := s.Items(ctx, "bench")
		if err != nil || len(items) < 10_000 {
			b.Fatalf("items: %d, %v", len(items), err)
		}
		release()
	}
}

// BenchmarkScanItems reads the same index from the datastore, which is
// what every sync did before the index was kept in memory.
func BenchmarkScanItems(b *testing.B) {
	s := benchFilled(b, 10_000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		items, err := s.scanItems(ctx, "bench")
		if err != nil || len(items) != 10_000 {
			b.Fatalf("items: %d, %v", len(items), err)
		}
	}
}

// BenchmarkAppendEventDurable appends one event and waits for the disk.
func BenchmarkAppendEventDurable(b *testing.B) {
	s := benchOpen(b)
	ctx := context.Background()
	ev := protocol.Event{Type: protocol.EventPresence, Room: "bench", PeerID: "12D3KooWbench", Status: "online"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.AppendEvents(ctx, true, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendEventAsync appends without waiting (typing, presence).
func BenchmarkAppendEventAsync(b *testing.B) {
	s := benchOpen(b)
	ctx := context.Background()
	ev := protocol.Event{Type: protocol.EventTyping, Room: "bench", PeerID: "12D3KooWbench"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.AppendEvents(ctx, false, ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEventsTail reads 256 recent events, served from memory: a
// live client keeping up.
func BenchmarkEventsTail(b *testing.B) {
	s := benchFilled(b, 1000)
	ctx := context.Background()
	since := s.LastSeq() - 256
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs, err := s.Events(ctx, since, 256)
		if err != nil || len(evs) != 256 {
			b.Fatalf("events: %d, %v", len(evs), err)
		}
	}
}

// BenchmarkEventsFromDisk reads 256 old events that have left the
// in-memory tail: a client resuming after a long absence.
func BenchmarkEventsFromDisk(b *testing.B) {
	s := benchFilled(b, 3*tailKeep)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs, err := s.Events(ctx, 0, 256)
		if err != nil || len(evs) != 256 {
			b.Fatalf("events: %d, %v", len(evs), err)
		}
	}
}
