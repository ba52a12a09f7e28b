package node

import "time"

// Option changes how a node runs in ways only tests and benchmarks need;
// a node started with none runs as users run it.
type Option func(*options)

type options struct {
	syncInterval   time.Duration
	legacySyncOnly bool
	rangesOnly     bool
}

// WithSyncInterval replaces the 10 s between periodic syncs, for tests
// that count what one sync run takes.
func WithSyncInterval(d time.Duration) Option { return func(o *options) { o.syncInterval = d } }

// WithLegacySyncOnly makes the node speak only /peerchat/sync/1.0.0, as
// nodes did before 1.1.0, to prove the two interoperate.
func WithLegacySyncOnly() Option { return func(o *options) { o.legacySyncOnly = true } }

// WithRangeSyncOnly makes the node, as a 1.1.0 initiator, skip the sketch
// tables and reconcile ranges at once, as it does when tables fail to
// peel, to cover that fallback.
func WithRangeSyncOnly() Option { return func(o *options) { o.rangesOnly = true } }
