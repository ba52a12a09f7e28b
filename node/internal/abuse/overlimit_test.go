package abuse

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestAForwarderWithinTwiceTheLimitIsNotPunished(t *testing.T) {
	o := NewOverLimit(RateLimit{PerSecond: 0.001, Burst: 10})
	forwarder, author := peer.ID("forwarder"), peer.ID("author")
	// All of an honest forwarder's share arrived after this node's bucket
	// for the author was empty: its own burst, twice over.
	for range 2 * 10 {
		o.NoteOverLimit(forwarder, "room", author)
	}
	if s := o.Score(forwarder); s != 0 {
		t.Fatalf("forwarder within its allowance scored %.2f, want 0", s)
	}
	o.NoteOverLimit(forwarder, "room", author)
	if s := o.Score(forwarder); s > -0.99 || s < -1.01 {
		t.Fatalf("one envelope beyond the allowance scored %.2f, want -1", s)
	}
}

func TestAFlooderSinksBelowTheGraylistAndItsPenaltyFadesAndIsBounded(t *testing.T) {
	o := NewOverLimit(RateLimit{PerSecond: 0.001, Burst: 10})
	flooder := peer.ID("flooder")
	for range 2*10 + 5000 {
		o.NoteOverLimit(flooder, "room", flooder)
	}
	if s := o.Score(flooder); s > GraylistThreshold || s < -maxPenalty {
		t.Fatalf("flooder scored %.1f, want between %d and %d", s, -maxPenalty, GraylistThreshold)
	}
	if other := o.Score(peer.ID("bystander")); other != 0 {
		t.Fatalf("a peer that forwarded nothing scored %.1f", other)
	}
	p := penalty{points: maxPenalty, at: time.Now().Add(-penaltyHalfLife)}
	if got := p.decayed(time.Now()); got < maxPenalty/2-1 || got > maxPenalty/2+1 {
		t.Fatalf("after one half-life %d points are %.1f", maxPenalty, got)
	}
}

func TestOneAuthorsAllowanceDoesNotCoverAnother(t *testing.T) {
	o := NewOverLimit(RateLimit{PerSecond: 0.001, Burst: 10})
	forwarder := peer.ID("forwarder")
	for range 20 {
		o.NoteOverLimit(forwarder, "room", peer.ID("one"))
		o.NoteOverLimit(forwarder, "room", peer.ID("two"))
		o.NoteOverLimit(forwarder, "other-room", peer.ID("one"))
	}
	if s := o.Score(forwarder); s != 0 {
		t.Fatalf("20 each of three (room, author) pairs scored %.1f, want 0", s)
	}
}
