package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newMessage(t testing.TB, key crypto.PrivKey, room string, lamport uint64, text, clientID string) (*protocol.Envelope, protocol.Message) {
	t.Helper()
	body, _ := json.Marshal(protocol.MessageBody{Text: text, ClientMsgID: clientID})
	env := &protocol.Envelope{Kind: protocol.KindMessage, Room: room, Lamport: lamport, SentAt: time.Now(), Body: body}
	if err := env.Sign(key); err != nil {
		t.Fatal(err)
	}
	m, err := protocol.MessageFromEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	return env, m
}

func key(t testing.TB) crypto.PrivKey {
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestConcurrentDuplicatesAreStoredAndReportedOnce(t *testing.T) {
	s := openTest(t, "")
	env, m := newMessage(t, key(t), "r", 1, "hi", "")
	var wg sync.WaitGroup
	outcomes := make([]Outcome, 20)
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.AddMessage(context.Background(), env, m)
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = res.Outcome
		}()
	}
	wg.Wait()
	added := 0
	for _, o := range outcomes {
		if o == Added {
			added++
		}
	}
	if added != 1 || s.LastSeq() != 1 {
		t.Fatalf("%d adds reported, last seq %d; want 1 and 1", added, s.LastSeq())
	}
}

func TestHistoryIsOrderedByLamportThenID(t *testing.T) {
	s := openTest(t, "")
	k := key(t)
	var want []Item
	for _, l := range []uint64{5, 1, 3, 3, 2, 5} {
		env, m := newMessage(t, k, "r", l, fmt.Sprint("m", l, len(want)), "")
		if _, err := s.AddMessage(context.Background(), env, m); err != nil {
			t.Fatal(err)
		}
		want = append(want, Item{Lamport: l, ID: env.ID()})
	}
	items, release, err := s.Items(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for i := 1; i < len(items); i++ {
		a, b := items[i-1], items[i]
		if a.Lamport > b.Lamport || (a.Lamport == b.Lamport && string(a.ID[:]) >= string(b.ID[:])) {
			t.Fatalf("items out of order at %d: %+v then %+v", i, a, b)
		}
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d", len(items), len(want))
	}
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	env, m := newMessage(t, key(t), "r", 9, "kept", "c1")
	m.Author = env.Author.String()
	if _, err := s.AddMessage(context.Background(), env, m); err != nil {
		t.Fatal(err)
	}
	s.ObserveLamport(42)
	if err := s.SetJoined(context.Background(), "r", true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	if s.LastSeq() != 1 {
		t.Fatalf("seq after reopen = %d", s.LastSeq())
	}
	if l := s.NextLamport(); l <= 9 {
		t.Fatalf("lamport after reopen = %d, want > 9", l)
	}
	rooms, _ := s.JoinedRooms(context.Background())
	if len(rooms) != 1 || rooms[0] != "r" {
		t.Fatalf("rooms after reopen = %v", rooms)
	}
	res, err := s.AddMessage(context.Background(), env, m)
	if err != nil || res.Outcome != Resent {
		t.Fatalf("same client_msg_id after reopen: %v %v", res.Outcome, err)
	}
}

func TestReadersNeverSeeEventsAheadOfTheLog(t *testing.T) {
	s := openTest(t, "")
	k := key(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var since uint64
		for ctx.Err() == nil {
			evs, err := s.Events(ctx, since, 100)
			if err != nil {
				t.Errorf("reader at %d: %v", since, err)
				return
			}
			for _, ev := range evs {
				if ev.Seq != since+1 {
					t.Errorf("gap: %d after %d", ev.Seq, since)
					return
				}
				since = ev.Seq
			}
		}
	}()
	for i := 0; i < 300; i++ {
		env, m := newMessage(t, k, "r", uint64(i+1), fmt.Sprint(i), "")
		if err := s.AddMessageAsync(ctx, env, m); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush(ctx)
	cancel()
	wg.Wait()
}

func TestPruneKeepsNewestAndRaisesHorizon(t *testing.T) {
	s := openTest(t, "")
	k := key(t)
	old := time.Now().Add(-2 * time.Hour)
	for i := 0; i < 10; i++ {
		body, _ := json.Marshal(protocol.MessageBody{Text: "x"})
		env := &protocol.Envelope{Kind: protocol.KindMessage, Room: "r", Lamport: uint64(i + 1), SentAt: old, Body: body}
		if i >= 6 {
			env.SentAt = time.Now()
		}
		env.Sign(k)
		m, _ := protocol.MessageFromEnvelope(env)
		s.AddMessage(context.Background(), env, m)
	}
	n, err := s.Prune(context.Background(), "r", Retention{MaxAge: time.Hour}, time.Now())
	if err != nil || n != 6 {
		t.Fatalf("pruned %d (%v), want 6", n, err)
	}
	h, _ := s.Horizon(context.Background(), "r")
	items, _ := s.scanItems(context.Background(), "r")
	if h != 6 || len(items) != 4 || items[0].Lamport != 7 {
		t.Fatalf("horizon %d, %d items left starting at %d", h, len(items), items[0].Lamport)
	}
}

func TestUnreadCountsOnlyOthersMessagesAfterTheMarker(t *testing.T) {
	s := openTest(t, "")
	mine, theirs := key(t), key(t)
	me, err := peer.IDFromPrivateKey(mine)
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	for l := uint64(1); l <= 6; l++ {
		k := theirs
		if l%3 == 0 {
			k = mine
		}
		items = append(items, addAt(t, s, k, "r", l, fmt.Sprint("m", l)))
	}
	ctx := context.Background()
	for _, tc := range []struct {
		after *Item
		want  int
	}{{nil, 4}, {&items[1], 2}, {&items[3], 1}, {&items[5], 0}} {
		n, err := s.CountAfter(ctx, "r", tc.after, me)
		if err != nil || n != tc.want {
			t.Fatalf("unread after %v = %d (%v), want %d", tc.after, n, err, tc.want)
		}
	}
}
