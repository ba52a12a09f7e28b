package node

import (
	"context"
	"errors"
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
