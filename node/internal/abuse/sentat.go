package abuse

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// SentAtLimit applies the room's per-author rate limit to the messages of
// one sync run, measured by the send times the authors signed rather than
// by when the envelopes arrive: a backlog arrives all at once, but an
// honest author's node never signed faster than the limit (it refuses its
// own user beyond it), so its history fits the limit in its own send
// times however long it waited to be synced. A flood relayed by a node
// that does not enforce limits does not: sync takes from it what gossip
// would have taken, a burst and the sustained rate over the flood's span.
//
// A bucket holds a burst and one second of the sustained rate, the second
// covering the gap between an author's node taking a token and signing.
// Owned by the goroutine running the sync.
type SentAtLimit struct {
	cfg     RateLimit // with defaults
	authors map[peer.ID]*sentAtBucket
}

type sentAtBucket struct {
	tokens float64
	last   time.Time
}

// NewSentAtLimit returns the limit of one sync run under cfg.
func NewSentAtLimit(cfg RateLimit) *SentAtLimit {
	return &SentAtLimit{cfg: cfg.WithDefaults(), authors: map[peer.ID]*sentAtBucket{}}
}

// Allow takes a token from author's bucket for a message sent at sentAt.
// Messages of one author arrive in history order, which is the order it
// sent them; one that claims an earlier send time than the last refills
// nothing.
func (l *SentAtLimit) Allow(author peer.ID, sentAt time.Time) bool {
	capacity := float64(l.cfg.Burst) + l.cfg.PerSecond
	b := l.authors[author]
	if b == nil {
		b = &sentAtBucket{tokens: capacity, last: sentAt}
		l.authors[author] = b
	}
	if sentAt.After(b.last) {
		b.tokens = min(capacity, b.tokens+sentAt.Sub(b.last).Seconds()*l.cfg.PerSecond)
		b.last = sentAt
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
