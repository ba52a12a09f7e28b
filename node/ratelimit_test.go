package node

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestOnlyTakenTokensExhaustAnAuthorsBucket(t *testing.T) {
	limits := newAuthorLimits(RateLimit{PerSecond: 0.001, Burst: 3})
	author := peer.ID("author")
	// A forger naming author never gets past the signature check, so it
	// only ever asks exhausted: that must not drain the bucket.
	for range 100 {
		if limits.exhausted("room", author) {
			t.Fatal("asking whether a bucket is empty emptied it")
		}
	}
	for i := range 3 {
		if !limits.allow("room", author) {
			t.Fatalf("envelope %d of a burst of 3 refused", i+1)
		}
	}
	if !limits.exhausted("room", author) {
		t.Fatal("bucket not exhausted after the burst was taken")
	}
	if limits.exhausted("room", peer.ID("other")) || limits.exhausted("other-room", author) {
		t.Fatal("one author's bucket in one room limited another")
	}
}
