// Package abuse keeps one author, or one peer, from drowning a room: per
// author token buckets, the score that punishes peers forwarding beyond
// them, the RPC inspector that drops an exhausted author's envelopes
// before gossipsub queues them, the per-run limit of sync and the
// connection gater.
package abuse

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// RateLimit bounds how fast one author may post into one room, as seen by
// this node: a sustained rate and a burst. Envelopes beyond it are neither
// stored nor forwarded, and the node refuses its own user's messages
// beyond it rather than publish what its peers would drop. The zero value
// means 50 per second with bursts of 200, far above any human and low
// enough to keep a flooder from drowning a room.
//
// An author this node has not heard from lately starts with FirstBurst
// tokens (20 by default, never more than Burst), and its bucket fills at
// PerSecond up to Burst: a flooder with a fresh identity gets a handful of
// envelopes in, not a full burst, before the limit bites, while a member
// who has been in the room has its whole burst at hand.
type RateLimit struct {
	PerSecond  float64
	Burst      int
	FirstBurst int
}

// WithDefaults returns l with every zero field set to its default, so
// flags and documentation can show the numbers a zero RateLimit means.
func (l RateLimit) WithDefaults() RateLimit {
	if l.PerSecond <= 0 {
		l.PerSecond = 50
	}
	if l.Burst <= 0 {
		l.Burst = 200
	}
	if l.FirstBurst <= 0 {
		l.FirstBurst = 20
	}
	l.FirstBurst = min(l.FirstBurst, l.Burst)
	return l
}

// maxLimiters bounds a bucket table; the least recently used keys'
// buckets are dropped beyond it, so a flood of fresh identities cannot
// grow memory without bound.
const maxLimiters = 10_000

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// buckets holds one token bucket per key, all with the same limit; a new
// key's bucket starts with cfg.FirstBurst tokens. Guarded by mu.
type buckets[K comparable] struct {
	cfg RateLimit
	mu  sync.Mutex
	m   map[K]*bucket
}

func newBuckets[K comparable](cfg RateLimit) *buckets[K] {
	return &buckets[K]{cfg: cfg, m: map[K]*bucket{}}
}

// allow takes a token from k's bucket.
func (b *buckets[K]) allow(k K) bool {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[k]
	if !ok {
		if len(b.m) >= maxLimiters {
			b.evictOldest()
		}
		e = &bucket{lim: rate.NewLimiter(rate.Limit(b.cfg.PerSecond), b.cfg.Burst)}
		e.lim.AllowN(now, b.cfg.Burst-b.cfg.FirstBurst)
		b.m[k] = e
	}
	e.used = now
	return e.lim.AllowN(now, 1)
}

// exhausted reports whether k's bucket is empty, without taking a token.
func (b *buckets[K]) exhausted(k K) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[k]
	return ok && e.lim.Tokens() < 1
}

// evictOldest drops the least recently used tenth of the table.
func (b *buckets[K]) evictOldest() {
	used := make([]time.Time, 0, len(b.m))
	for _, e := range b.m {
		used = append(used, e.used)
	}
	slices.SortFunc(used, func(x, y time.Time) int { return x.Compare(y) })
	cutoff := used[len(used)/10]
	for k, e := range b.m {
		if !e.used.After(cutoff) {
			delete(b.m, k)
		}
	}
}

type limiterKey struct {
	room   string
	author peer.ID
}

// AuthorLimits holds one token bucket per room and author.
type AuthorLimits struct {
	*buckets[limiterKey]
}

// NewAuthorLimits returns the buckets of cfg, with defaults filled.
func NewAuthorLimits(cfg RateLimit) AuthorLimits {
	return AuthorLimits{newBuckets[limiterKey](cfg.WithDefaults())}
}

// OwnLimits holds the local user's bucket in each room. It starts full:
// peers that know the user have its whole burst ready, and those that do
// not yet drop what exceeds their first burst without punishing anyone
// (see overlimit.go), to be made whole by sync.
type OwnLimits struct {
	*buckets[string]
}

// NewOwnLimits returns the local user's buckets under cfg.
func NewOwnLimits(cfg RateLimit) OwnLimits {
	cfg = cfg.WithDefaults()
	cfg.FirstBurst = cfg.Burst
	return OwnLimits{newBuckets[string](cfg)}
}

// Allow takes a token from author's bucket in room.
func (a AuthorLimits) Allow(room string, author peer.ID) bool {
	return a.buckets.allow(limiterKey{room, author})
}

// Exhausted reports whether author's bucket in room is empty, without
// taking a token. The validator asks it before verifying a signature, so
// a flooder over its limit costs a decode, not a verification; a forger
// naming someone else as author cannot drain that author's bucket, since
// tokens are taken only after the signature checks out.
func (a AuthorLimits) Exhausted(room string, author peer.ID) bool {
	return a.buckets.exhausted(limiterKey{room, author})
}

// Allow takes a token from the local user's bucket in room.
func (o OwnLimits) Allow(room string) bool { return o.buckets.allow(room) }

// Limit returns the rate limit the buckets apply, defaults filled.
func (o OwnLimits) Limit() RateLimit { return o.buckets.cfg }
