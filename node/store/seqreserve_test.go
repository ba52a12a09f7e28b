package store

import (
	"context"
	"testing"

	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"

	"github.com/peerchat/peerchat/protocol"
)

func TestACleanRestartContinuesEventNumbersWithoutAGap(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	for range 3 {
		if err := s.AppendEvents(ctx, false, protocol.Event{Type: protocol.EventTyping}); err != nil { // shown before its flush
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

// A crash can lose events that were shown before their flush. Numbering
// must then resume above every seq that may have been shown, so a client
// resuming from one of them is not handed a different event under it.
func TestAfterACrashNumberingResumesAboveTheReservation(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	if err := s.AppendEvents(ctx, true, protocol.Event{Type: protocol.EventTyping}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// What a crash leaves: a reservation above the last durable seq.
	db, err := pebbleds.NewDatastore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put(ctx, ds.NewKey(keySeqReserved), uintBytes(1+seqReserveBlock)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openTest(t, dir)
	defer s.Close()
	if got := s.LastSeq(); got != 1+seqReserveBlock {
		t.Fatalf("LastSeq after the crash = %d, want the reservation %d", got, 1+seqReserveBlock)
	}
	if err := s.AppendEvents(ctx, true, protocol.Event{Type: protocol.EventTyping}); err != nil {
		t.Fatal(err)
	}
	seen := uint64(2) // a seq a client may have seen before the crash
	evs, err := s.Events(ctx, seen, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != 2+seqReserveBlock {
		t.Fatalf("events after seq %d = %+v, want only the new one, numbered %d", seen, evs, 2+seqReserveBlock)
	}
}
