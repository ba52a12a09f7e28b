package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// sealedEnv signs an envelope of a sealed kind with an opaque body: the
// store never reads a sealed body, so no key schedule is needed here.
func sealedEnv(t *testing.T, k crypto.PrivKey, kind string, lamport uint64, sentAt time.Time) *protocol.Envelope {
	t.Helper()
	env := &protocol.Envelope{Kind: kind, Room: "r", Lamport: lamport, SentAt: sentAt, Body: []byte("ciphertext")}
	if err := env.Sign(k); err != nil {
		t.Fatal(err)
	}
	return env
}

func openedOf(env *protocol.Envelope, text string) protocol.Message {
	m := protocol.SealedStub(env)
	m.Text = text
	return m
}

func TestAPrivateRoomsHistoryShowsOnlyWhatOpenedAndSealedEnvelopesAddNoEvent(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	k, other := key(t), key(t)
	self, _ := peer.IDFromPrivateKey(other)
	now := time.Now()
	epoch := sealedEnv(t, k, protocol.KindSealedEpoch, 1, now)
	opened := sealedEnv(t, k, protocol.KindSealedMessage, 2, now)
	closed := sealedEnv(t, k, protocol.KindSealedMessage, 3, now)
	join := sealedEnv(t, k, protocol.KindSealedJoin, 4, now)
	public, pm := newMessage(t, k, "r", 5, "public", "")
	for _, e := range []*protocol.Envelope{epoch, opened, closed, join} {
		if out, err := s.AddSealed(ctx, e, true); err != nil || out != Added {
			t.Fatalf("add sealed %s: %v %v", e.Kind, out, err)
		}
	}
	if s.LastSeq() != 0 {
		t.Fatalf("sealed envelopes appended %d events, want none", s.LastSeq())
	}
	if out, _ := s.AddSealed(ctx, opened, true); out != Duplicate {
		t.Fatalf("second add of a sealed envelope = %v, want Duplicate", out)
	}
	if _, err := s.AddMessage(ctx, public, pm); err != nil {
		t.Fatal(err)
	}
	if out, err := s.AddOpened(ctx, opened, openedOf(opened, "secret"), true); err != nil || out != Added {
		t.Fatalf("add opened: %v %v", out, err)
	}
	if out, err := s.AddOpened(ctx, opened, openedOf(opened, "secret"), true); err != nil || out != Duplicate {
		t.Fatalf("second add opened: %v %v, want Duplicate", out, err)
	}
	if s.LastSeq() != 2 {
		t.Fatalf("%d events, want 2 (the public message and the opened one, once)", s.LastSeq())
	}
	msgs, more, err := s.History(ctx, "r", nil, 10)
	if err != nil || more || len(msgs) != 2 || msgs[0].Text != "secret" || msgs[1].Text != "public" {
		t.Fatalf("history = %+v more=%v err=%v", msgs, more, err)
	}
	// Paging counts what shows, not what is stored.
	msgs, more, _ = s.History(ctx, "r", nil, 1)
	if len(msgs) != 1 || !more || msgs[0].Text != "public" {
		t.Fatalf("history page = %+v more=%v", msgs, more)
	}
	if m, err := s.Message(ctx, opened.ID()); err != nil || m.Text != "secret" {
		t.Fatalf("message opened = %+v %v", m, err)
	}
	if _, err := s.Message(ctx, closed.ID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("message not opened: %v, want ErrNotFound", err)
	}
	author, _ := peer.IDFromPrivateKey(k)
	got, err := s.AuthoredAfter(ctx, "r", author, nil, nil, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("authored = %+v %v", got, err)
	}
	if n, err := s.CountAfter(ctx, "r", nil, self); err != nil || n != 2 {
		t.Fatalf("unread = %d %v, want 2", n, err)
	}
	un, err := s.UnopenedSealed(ctx, "r")
	if err != nil || len(un) != 1 || un[0].ID() != closed.ID() {
		t.Fatalf("unopened = %v %v, want the one closed message", un, err)
	}
	items, _ := s.scanItems(ctx, "r")
	if len(items) != 5 {
		t.Fatalf("%d items in the sync index, want all 5 envelopes", len(items))
	}
}

func TestPruneKeepsAnEpochChangeAndNeverRaisesTheHorizonPastIt(t *testing.T) {
	s := openTest(t, "")
	ctx := context.Background()
	k := key(t)
	old := time.Now().Add(-2 * time.Hour)
	for l := uint64(1); l <= 6; l++ {
		kind := protocol.KindSealedMessage
		if l == 4 {
			kind = protocol.KindSealedEpoch
		}
		if _, err := s.AddSealed(ctx, sealedEnv(t, k, kind, l, old), true); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Prune(ctx, "r", Retention{MaxAge: time.Hour}, time.Now())
	if err != nil || n != 3 {
		t.Fatalf("pruned %d (%v), want the 3 messages before the epoch", n, err)
	}
	h, _ := s.Horizon(ctx, "r")
	items, _ := s.scanItems(ctx, "r")
	if h != 3 || len(items) != 3 || items[0].Lamport != 4 {
		t.Fatalf("horizon %d, items %+v", h, items)
	}
}

func TestOpenedMessagesSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env := sealedEnv(t, key(t), protocol.KindSealedMessage, 1, time.Now())
	s.AddSealed(ctx, env, true)
	if _, err := s.AddOpened(ctx, env, openedOf(env, "kept"), false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	msgs, _, err := s.History(ctx, "r", nil, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "kept" {
		t.Fatalf("history after restart = %+v %v", msgs, err)
	}
	raw, _ := s.Events(ctx, 0, 10)
	var ev protocol.Event
	if len(raw) != 1 || json.Unmarshal(raw[0].JSON, &ev) != nil || ev.Message == nil || ev.Message.Text != "kept" {
		t.Fatalf("events after restart = %d", len(raw))
	}
}
