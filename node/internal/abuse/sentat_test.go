package abuse

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestAnHonestAuthorsHistoryFitsTheLimitInItsOwnSendTimes(t *testing.T) {
	l := NewSentAtLimit(RateLimit{PerSecond: 50, Burst: 200})
	author := peer.ID("honest")
	start := time.Unix(1_000_000, 0)
	// A full burst at once, then the sustained rate for a minute.
	for i := range 200 {
		if !l.Allow(author, start.Add(time.Duration(i)*time.Microsecond)) {
			t.Fatalf("burst message %d refused", i)
		}
	}
	for i := range 3000 {
		if !l.Allow(author, start.Add(time.Duration(i+1)*20*time.Millisecond)) {
			t.Fatalf("message %d at the sustained rate refused", i)
		}
	}
}

func TestAFloodsSendTimesGetItABurstAndTheRateOverItsSpanOnly(t *testing.T) {
	l := NewSentAtLimit(RateLimit{PerSecond: 50, Burst: 200})
	flooder, other := peer.ID("flooder"), peer.ID("other")
	start := time.Unix(1_000_000, 0)
	taken := 0
	for i := range 2000 { // 2,000 a second for one second
		if l.Allow(flooder, start.Add(time.Duration(i)*500*time.Microsecond)) {
			taken++
		}
	}
	// 200 + one second's slack of 50 to start with, plus 50 over the span.
	if taken < 290 || taken > 301 {
		t.Fatalf("took %d of the flood, want about 300", taken)
	}
	if !l.Allow(other, start) {
		t.Fatal("another author's bucket was spent by the flooder")
	}
	if l.Allow(flooder, start) {
		t.Fatal("a send time earlier than the last refilled the bucket")
	}
}
