package node

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// RateLimit bounds how fast one author may post into one room, as seen by
// this node: a sustained rate and a burst. Envelopes beyond it are neither
// stored nor forwarded (the author's honest peers are not punished for
// relaying them). The zero value means 50 per second with bursts of 200,
// far above any human and low enough to keep a flooder from drowning a
// room.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// maxLimiters bounds the limiter table; the least recently used author's
// limiter is dropped beyond it, so a flood of fresh identities cannot grow
// memory without bound.
const maxLimiters = 10_000

type limiterKey struct {
	room   string
	author peer.ID
}

type limiterEntry struct {
	lim  *rate.Limiter
	used time.Time
}

// authorLimits holds one token bucket per room and author. Guarded by mu.
type authorLimits struct {
	cfg RateLimit
	mu  sync.Mutex
	m   map[limiterKey]*limiterEntry
}

func newAuthorLimits(cfg RateLimit) *authorLimits {
	if cfg.PerSecond <= 0 {
		cfg.PerSecond = 50
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 200
	}
	return &authorLimits{cfg: cfg, m: map[limiterKey]*limiterEntry{}}
}

// allow takes a token from author's bucket in room.
func (a *authorLimits) allow(room string, author peer.ID) bool {
	k := limiterKey{room, author}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.m[k]
	if !ok {
		if len(a.m) >= maxLimiters {
			a.evictOldest()
		}
		e = &limiterEntry{lim: rate.NewLimiter(rate.Limit(a.cfg.PerSecond), a.cfg.Burst)}
		a.m[k] = e
	}
	e.used = now
	return e.lim.AllowN(now, 1)
}

// exhausted reports whether author's bucket in room is empty, without
// taking a token. The validator asks it before verifying a signature, so
// a flooder over its limit costs a decode, not a verification; a forger
// naming someone else as author cannot drain that author's bucket, since
// tokens are taken only after the signature checks out.
func (a *authorLimits) exhausted(room string, author peer.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.m[limiterKey{room, author}]
	return ok && e.lim.Tokens() < 1
}

// evictOldest drops the least recently used tenth of the table.
func (a *authorLimits) evictOldest() {
	used := make([]time.Time, 0, len(a.m))
	for _, e := range a.m {
		used = append(used, e.used)
	}
	slices.SortFunc(used, func(x, y time.Time) int { return x.Compare(y) })
	cutoff := used[len(used)/10]
	for key, e := range a.m {
		if !e.used.After(cutoff) {
			delete(a.m, key)
		}
	}
}
