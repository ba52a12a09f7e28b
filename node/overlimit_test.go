package node

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestAForwarderWithinTwiceTheLimitIsNotPunished(t *testing.T) {
	o := newOverLimitPeers(RateLimit{PerSecond: 0.001, Burst: 10})
	forwarder, author := peer.ID("forwarder"), peer.ID("author")
	// All of an honest forwarder's share arrived after this node's bucket
	// for the author was empty: its own burst, twice over.
	for range 2 * 10 {
		o.noteOverLimit(forwarder, "room", author)
	}
	if s := o.score(forwarder); s != 0 {
		t.Fatalf("forwarder within its allowance scored %.2f, want 0", s)
	}
	o.noteOverLimit(forwarder, "room", author)
	if s := o.score(forwarder); s > -0.99 || s < -1.01 {
		t.Fatalf("one envelope beyond the allowance scored %.2f, want -1", s)
	}
}

func TestAFlooderSinksBelowTheGraylistAndItsPenaltyFadesAndIsBounded(t *testing.T) {
	o := newOverLimitPeers(RateLimit{PerSecond: 0.001, Burst: 10})
	flooder := peer.ID("flooder")
	for range 2*10 + 5000 {
		o.noteOverLimit(flooder, "room", flooder)
	}
	if s := o.score(flooder); s > graylistThreshold || s < -maxPenalty {
		t.Fatalf("flooder scored %.1f, want between %d and %d", s, -maxPenalty, graylistThreshold)
	}
	if other := o.score(peer.ID("bystander")); other != 0 {
		t.Fatalf("a peer that forwarded nothing scored %.1f", other)
	}
	p := penalty{points: maxPenalty, at: time.Now().Add(-penaltyHalfLife)}
	if got := p.decayed(time.Now()); got < maxPenalty/2-1 || got > maxPenalty/2+1 {
		t.Fatalf("after one half-life %d points are %.1f", maxPenalty, got)
	}
}

func TestOneAuthorsAllowanceDoesNotCoverAnother(t *testing.T) {
	o := newOverLimitPeers(RateLimit{PerSecond: 0.001, Burst: 10})
	forwarder := peer.ID("forwarder")
	for range 20 {
		o.noteOverLimit(forwarder, "room", peer.ID("one"))
		o.noteOverLimit(forwarder, "room", peer.ID("two"))
		o.noteOverLimit(forwarder, "other-room", peer.ID("one"))
	}
	if s := o.score(forwarder); s != 0 {
		t.Fatalf("20 each of three (room, author) pairs scored %.1f, want 0", s)
	}
}

func TestSendingBeyondTheRateLimitIsRefusedAndSendsNothing(t *testing.T) {
	n := testNode(t, "", func(c *Config) { c.RateLimit = RateLimit{PerSecond: 0.001, Burst: 5} })
	mustJoin(t, "busy", n)
	for i := range 5 {
		if _, _, err := n.Send(context.Background(), "busy", "within", ""); err != nil {
			t.Fatalf("send %d of a burst of 5: %v", i+1, err)
		}
	}
	_, _, err := n.Send(context.Background(), "busy", "beyond", "")
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != CodeRateLimited {
		t.Fatalf("sixth send: %v, want a %s error", err, CodeRateLimited)
	}
	if got := len(historyIDs(t, n, "busy")); got != 5 {
		t.Fatalf("history holds %d messages, want the 5 accepted", got)
	}
}

func TestAFlooderCutOffFromGossipIsCutOffFromSyncToo(t *testing.T) {
	const room = "backdoor"
	victim := testNode(t, "")
	// The flooder is a peerchat node whose own limit lets its user post
	// as fast as it likes; the victim keeps the default limit.
	flooder := testNode(t, "", bootstrapFrom(victim), func(c *Config) {
		c.RateLimit = RateLimit{PerSecond: 1e6, Burst: 1 << 20, FirstBurst: 1 << 20}
	})
	mustJoin(t, room, victim, flooder)
	waitFor(t, 10*time.Second, "the two in the room", func() bool {
		return roomPeers(victim, room) == 1 && roomPeers(flooder, room) == 1
	})
	for i := range 1500 {
		mustSend(t, flooder, room, fmt.Sprintf("flood %d", i))
	}
	waitFor(t, 10*time.Second, "the flooder cut off", func() bool { return victim.cutOff(flooder.ID()) })
	if victim.cutOff(victim.ID()) {
		t.Fatal("the victim cut itself off")
	}
	// Let what gossip admitted settle, then neither side's sync may bring
	// in the rest.
	var held, steady int
	waitFor(t, 20*time.Second, "the victim's history to stay the same for half a second", func() bool {
		n := len(historyIDs(t, victim, room))
		if n != held {
			held, steady = n, 0
		}
		steady++
		return steady >= 50 && n > 0
	})
	if err := victim.syncWith(context.Background(), room, flooder.ID()); !errors.Is(err, errCutOff) {
		t.Fatalf("the victim's sync with the flooder: %v, want %v", err, errCutOff)
	}
	if err := flooder.syncWith(context.Background(), room, victim.ID()); err == nil {
		t.Fatal("the victim served a sync to the flooder it cut off")
	}
	if got := len(historyIDs(t, victim, room)); got != held {
		t.Fatalf("the victim's history grew from %d to %d after cutting the flooder off", held, got)
	}
	if held >= 1500 {
		t.Fatalf("the victim holds all %d of the flood", held)
	}
	t.Logf("the victim holds %d of the 1,500 flooded messages", held)
}
