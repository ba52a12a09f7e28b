package abuse

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestOnlyTakenTokensExhaustAnAuthorsBucket(t *testing.T) {
	limits := NewAuthorLimits(RateLimit{PerSecond: 0.001, Burst: 3})
	author := peer.ID("author")
	// A forger naming author never gets past the signature check, so it
	// only ever asks exhausted: that must not drain the bucket.
	for range 100 {
		if limits.Exhausted("room", author) {
			t.Fatal("asking whether a bucket is empty emptied it")
		}
	}
	for i := range 3 {
		if !limits.Allow("room", author) {
			t.Fatalf("envelope %d of a burst of 3 refused", i+1)
		}
	}
	if !limits.Exhausted("room", author) {
		t.Fatal("bucket not exhausted after the burst was taken")
	}
	if limits.Exhausted("room", peer.ID("other")) || limits.Exhausted("other-room", author) {
		t.Fatal("one author's bucket in one room limited another")
	}
}

func TestANewAuthorStartsWithTheFirstBurstAndFillsToTheFullBurst(t *testing.T) {
	limits := NewAuthorLimits(RateLimit{PerSecond: 1000, Burst: 50, FirstBurst: 5})
	author := peer.ID("newcomer")
	taken := 0
	for limits.Allow("room", author) {
		taken++
	}
	if taken < 5 || taken > 7 { // a token or two may refill while counting
		t.Fatalf("a new author got %d envelopes in at once, want its first burst of 5", taken)
	}
	deadline := time.Now().Add(5 * time.Second)
	for limits.buckets.m[limiterKey{"room", author}].lim.TokensAt(time.Now()) < 50 {
		if time.Now().After(deadline) {
			t.Fatal("the bucket never filled to the full burst")
		}
		time.Sleep(10 * time.Millisecond) // polling a refill at 1,000/s
	}
	taken = 0
	for limits.Allow("room", author) {
		taken++
	}
	if taken < 50 {
		t.Fatalf("an author heard from before got %d envelopes in at once, want the full burst of 50", taken)
	}
}

func TestTheOwnUsersBucketStartsFull(t *testing.T) {
	own := NewOwnLimits(RateLimit{PerSecond: 0.001, Burst: 30, FirstBurst: 5})
	for i := range 30 {
		if !own.Allow("room") {
			t.Fatalf("own send %d of a burst of 30 refused", i+1)
		}
	}
	if own.Allow("room") {
		t.Fatal("own send beyond the burst allowed")
	}
}
