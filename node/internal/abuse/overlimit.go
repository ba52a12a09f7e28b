package abuse

import (
	"errors"
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Peers that pass on an author's envelopes far beyond the rate limit are
// punished through gossipsub's application-specific score.
//
// An honest peer enforces the same limit before it forwards anything, so
// of one author it passes on at most a burst and the sustained rate. Even
// when all of that arrives after this node's own bucket for the author ran
// dry (other peers delivered the author's allowance first), it stays
// within an allowance of twice the limit per forwarding peer and author.
// A peer that exceeds it is the flooder itself, or a forwarder that does
// not enforce limits: each envelope beyond the allowance costs it one
// penalty point, and the points, halving every penaltyHalfLife, are its
// negative application score. About a hundred such envelopes put a peer
// below the graylist threshold: gossipsub then prunes it from the mesh and
// drops its RPCs unread.
//
// A node never publishes its own messages beyond the limit (Send refuses
// them), so an honest author with the same limit is never punished.

const (
	// allowanceFactor scales the rate limit into the allowance one
	// forwarding peer has for one author's over-limit envelopes.
	allowanceFactor = 2
	// penaltyHalfLife is how fast a peer's penalty points fade once it
	// stops: a peer graylisted by a long flood stays so for about twenty
	// minutes.
	penaltyHalfLife = 5 * time.Minute
	// maxPenalty bounds a peer's points, so that its punishment ends.
	maxPenalty = 1000
)

type forwardKey struct {
	from   peer.ID
	room   string
	author peer.ID
}

type penalty struct {
	points float64
	at     time.Time
}

// decayed returns p's points at now.
func (p penalty) decayed(now time.Time) float64 {
	return p.points * math.Exp2(-now.Sub(p.at).Seconds()/penaltyHalfLife.Seconds())
}

// OverLimit tracks over-limit envelopes by the peer that delivered
// them. noteOverLimit runs on gossipsub's event loop (RPC inspector) and
// its validation workers; score runs on the event loop. Penalties are
// guarded by mu.
type OverLimit struct {
	allowance *buckets[forwardKey]

	mu        sync.Mutex
	penalties map[peer.ID]penalty
}

// NewOverLimit returns the tracker for peers forwarding beyond limit.
func NewOverLimit(limit RateLimit) *OverLimit {
	limit = limit.WithDefaults()
	allowance := RateLimit{PerSecond: allowanceFactor * limit.PerSecond, Burst: allowanceFactor * limit.Burst}
	allowance.FirstBurst = allowance.Burst
	return &OverLimit{allowance: newBuckets[forwardKey](allowance), penalties: map[peer.ID]penalty{}}
}

// NoteOverLimit records that from delivered an envelope of author in room
// that the author's rate limit refused.
func (o *OverLimit) NoteOverLimit(from peer.ID, room string, author peer.ID) {
	if o.allowance.allow(forwardKey{from, room, author}) {
		return
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.penalties[from]
	if !ok && len(o.penalties) >= maxLimiters {
		o.forgetFaded(now)
	}
	o.penalties[from] = penalty{points: min(p.decayed(now)+1, maxPenalty), at: now}
}

// ErrCutOff is why a sync with a peer punished for flooding did not run.
var ErrCutOff = errors.New("the peer is cut off for flooding")

// CutOff reports whether p's flooding put it below the graylist threshold.
// Gossipsub then ignores p; sync must too: a flooder's own node serves
// everything it signed, rate limit or not, so syncing with it would take
// in by the back door what gossip refused.
func (o *OverLimit) CutOff(p peer.ID) bool {
	return o.Score(p) < GraylistThreshold
}

// Score is from's application-specific gossipsub score: minus its penalty
// points.
func (o *OverLimit) Score(from peer.ID) float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.penalties[from]
	if !ok {
		return 0
	}
	return -p.decayed(time.Now())
}

// forgetFaded drops penalties that have faded below a point and, when that
// is not enough, an arbitrary tenth, so the table stays bounded.
func (o *OverLimit) forgetFaded(now time.Time) {
	for k, p := range o.penalties {
		if p.decayed(now) < 1 {
			delete(o.penalties, k)
		}
	}
	if len(o.penalties) < maxLimiters {
		return
	}
	cut := maxLimiters / 10
	for k := range o.penalties { // map order: an arbitrary tenth
		if cut == 0 {
			break
		}
		delete(o.penalties, k)
		cut--
	}
}
