package roomsync

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

const (
	// refusedBatch is how long refusals gather before the syncs they ask
	// for start: an author's burst is still arriving when its first
	// envelope is refused, and a sync started at once would miss its tail.
	refusedBatch = 250 * time.Millisecond
	// refusedPace is the least time between two syncs one peer's refused
	// envelopes start in a room. Each run takes at most a burst and a
	// second's worth of an author by send time (abuse.SentAtLimit), so the
	// pace bounds what a flood can bring in this way, while one run is
	// enough for any honest backlog.
	refusedPace = time.Second
	// maxRefusedPeers bounds the pacing table.
	maxRefusedPeers = 4096
)

// Refused notes that gossip refused a verified envelope from peer from in
// room because its author was over the rate limit. A new author's first
// burst is small (abuse.RateLimit.FirstBurst), so an honest backlog, a
// bot's burst or a side of a healed partition is mostly refused by
// gossip; a sync with the peer that forwarded it takes the rest at once,
// under sync's limit by send time, which an honest author always meets.
// Without it the rest waited for the periodic sync, 10 s and more.
//
// It runs in gossipsub's validation workers, so it never waits: a full
// hand-off drops the note (another refusal, or the periodic sync, covers
// it).
func (sy *Syncer) Refused(room string, from peer.ID) {
	select {
	case sy.refused <- syncKey{room, from}:
	default:
	}
}

// startRefused syncs the pairs Refused named, gathered over refusedBatch
// and at most once per refusedPace each, until ctx ends.
func (sy *Syncer) startRefused(ctx context.Context) {
	t := time.NewTicker(refusedBatch)
	defer t.Stop()
	pending := map[syncKey]bool{}   // owned by this goroutine
	last := map[syncKey]time.Time{} // owned by this goroutine
	for {
		select {
		case <-ctx.Done():
			return
		case k := <-sy.refused:
			pending[k] = true
		case now := <-t.C:
			for k := range pending {
				if now.Sub(last[k]) < refusedPace {
					continue // kept pending until its pace allows
				}
				delete(pending, k)
				last[k] = now
				sy.Request(k.room, k.peer)
			}
			if len(last) > maxRefusedPeers {
				for k, at := range last {
					if now.Sub(at) >= refusedPace {
						delete(last, k)
					}
				}
			}
		}
	}
}
