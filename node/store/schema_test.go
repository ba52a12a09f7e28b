package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"

	"github.com/peerchat/peerchat/protocol"
)

// copyV1 copies testdata/v1 to a temporary folder: opening a store writes
// to it, and the committed folder must stay as the old code left it.
func copyV1(t *testing.T) string {
	t.Helper()
	dir := t.TempDir() + "/store"
	if err := os.CopyFS(dir, os.DirFS("testdata/v1")); err != nil {
		t.Fatalf("copy testdata/v1: %v", err)
	}
	return dir
}

// rawPut writes one key into a closed store's folder, as another version
// of the code (or a crash) would have left it.
func rawPut(t *testing.T, dir, key string, value []byte) {
	t.Helper()
	db, err := pebbleds.NewDatastore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put(context.Background(), ds.NewKey(key), value); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func storedSchema(t *testing.T, s *Store) uint64 {
	t.Helper()
	v, err := s.getUint(context.Background(), keySchema)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestANewFolderIsStampedWithTheCurrentSchema(t *testing.T) {
	s := openTest(t, "")
	if v := storedSchema(t, s); v != SchemaVersion {
		t.Fatalf("a new store has schema %d, want %d", v, SchemaVersion)
	}
}

// TestAFolderWrittenBeforeSchemaVersionsOpensWhole opens testdata/v1, made
// by the code before this change, and checks that everything it held
// reads back and that the folder is stamped with the current version.
func TestAFolderWrittenBeforeSchemaVersionsOpensWhole(t *testing.T) {
	dir := copyV1(t)
	s := openTest(t, dir)
	ctx := context.Background()
	if v := storedSchema(t, s); v != SchemaVersion {
		t.Fatalf("the upgraded folder has schema %d, want %d", v, SchemaVersion)
	}
	msgs, more, err := s.History(ctx, v1Room, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if more || len(msgs) != v1Sent+v1Received {
		t.Fatalf("history has %d messages (more %v), want %d", len(msgs), more, v1Sent+v1Received)
	}
	for i, m := range msgs {
		want := fmt.Sprintf("sent %d", i)
		if i >= v1Sent {
			want = fmt.Sprintf("received %d", i-v1Sent)
		}
		if m.Text != want {
			t.Errorf("message %d is %q, want %q", i, m.Text, want)
		}
	}
	const events = v1Sent + v1Received + 1 // and the typing event
	if got := s.LastSeq(); got != events {
		t.Fatalf("LastSeq = %d, want %d", got, events)
	}
	evs, err := s.Events(ctx, 0, 100)
	if err != nil || len(evs) != events {
		t.Fatalf("events = %d, %v; want %d", len(evs), err, events)
	}
	if rooms, err := s.JoinedRooms(ctx); err != nil || len(rooms) != 1 || rooms[0] != v1Room {
		t.Errorf("joined rooms = %v, %v; want [%s]", rooms, err, v1Room)
	}
	if peers, err := s.KnownPeers(ctx); err != nil || len(peers[v1Peer]) != 1 {
		t.Errorf("known peers = %v, %v; want %s", peers, err, v1Peer)
	}
	// The client_msg_id index survived: a retry of a sent message is
	// recognised, and nothing is added.
	env, msg := newMessage(t, v1Key(t), v1Room, 100, "sent 0 again", "cid-0")
	res, err := s.AddMessage(ctx, env, msg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Resent || res.Message.Text != "sent 0" {
		t.Errorf("a retry of cid-0 gave %v %q, want Resent \"sent 0\"", res.Outcome, res.Message.Text)
	}
	// New events continue the old numbering.
	if err := s.AppendEvents(ctx, true, protocol.Event{Type: protocol.EventTyping, Room: v1Room}); err != nil {
		t.Fatal(err)
	}
	if got := s.LastSeq(); got != events+1 {
		t.Fatalf("after one more event LastSeq = %d, want %d", got, events+1)
	}
	s.Close()
	s = openTest(t, dir)
	if got := s.LastSeq(); got != events+1 {
		t.Fatalf("reopened, LastSeq = %d, want %d", got, events+1)
	}
}

// A crash of the old code could leave a seq reservation above /meta/seq,
// and seqs up to it may have been shown. The upgrade resumes numbering
// above the reservation and drops the key, which the new code no longer
// needs.
func TestAnOldFolderLeftWithASeqReservationResumesNumberingAboveIt(t *testing.T) {
	dir := copyV1(t)
	const reserved = 4107
	rawPut(t, dir, keySeqReserved, uintBytes(reserved))
	s := openTest(t, dir)
	ctx := context.Background()
	if got := s.LastSeq(); got != reserved {
		t.Fatalf("LastSeq = %d, want the reservation %d", got, reserved)
	}
	if has, err := s.db.Has(ctx, ds.NewKey(keySeqReserved)); err != nil || has {
		t.Errorf("the reservation is still stored after the upgrade (%v)", err)
	}
	if err := s.AppendEvents(ctx, true, protocol.Event{Type: protocol.EventTyping}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, 20, 10) // a seq a client may have seen before the crash
	if err != nil || len(evs) != 1 || evs[0].Seq != reserved+1 {
		t.Fatalf("events after seq 20 = %+v, %v; want only the new one, numbered %d", evs, err, reserved+1)
	}
}

func TestAFolderFromANewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.Close()
	rawPut(t, dir, keySchema, uintBytes(SchemaVersion+1))
	s, err := Open(dir, Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a folder from a newer schema")
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open: %v, want ErrNewerSchema", err)
	}
	t.Logf("Open refused the folder: %v", err)
	for _, want := range []string{fmt.Sprintf("schema version %d", SchemaVersion+1), fmt.Sprintf("up to %d", SchemaVersion), dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	// The folder was not touched: still the newer version.
	db, err := pebbleds.NewDatastore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Get(context.Background(), ds.NewKey(keySchema))
	if err != nil || string(v) != string(uintBytes(SchemaVersion+1)) {
		t.Errorf("the refused folder's schema is now %x, %v", v, err)
	}
}
