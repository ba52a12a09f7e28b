package roomsync

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/protocol"
)

// progressEvery is how often a long sync reports its counts.
const progressEvery = time.Second

// SyncRun is one reconciliation of a room with a peer, as GET /v1/sync
// shows it: the latest run of each room and peer pair.
type SyncRun struct {
	Room      string `json:"room"`
	Peer      string `json:"peer_id"`
	Initiator bool   `json:"initiator"`
	State     string `json:"state"` // running, done or failed
	Received  int    `json:"received"`
	Sent      int    `json:"sent"`
	// The totals count every run with this peer in this room since start.
	ReceivedTotal int        `json:"received_total"`
	SentTotal     int        `json:"sent_total"`
	StartedAt     time.Time  `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
	Error         string     `json:"error,omitempty"`
}

// syncTracker keeps the latest run per pair. Guarded by mu.
type syncTracker struct {
	mu   sync.Mutex
	runs map[syncKey]*SyncRun
}

// syncProgress is the handle one run updates as envelopes flow.
type syncProgress struct {
	sy        *Syncer
	key       syncKey
	lastEvent time.Time
	limit     *abuse.SentAtLimit // the run's messages, per author
}

func (sy *Syncer) beginSync(ctx context.Context, room string, p peer.ID, initiator bool) *syncProgress {
	k := syncKey{room, p}
	run := &SyncRun{Room: room, Peer: p.String(), Initiator: initiator, State: "running", StartedAt: time.Now().UTC()}
	sy.runs.mu.Lock()
	if sy.runs.runs == nil {
		sy.runs.runs = map[syncKey]*SyncRun{}
	}
	if prev, ok := sy.runs.runs[k]; ok {
		run.ReceivedTotal, run.SentTotal = prev.ReceivedTotal, prev.SentTotal
	}
	sy.runs.runs[k] = run
	sy.runs.mu.Unlock()
	sp := &syncProgress{sy: sy, key: k, lastEvent: time.Now(), limit: abuse.NewSentAtLimit(sy.cfg.Limit)}
	sp.report(ctx)
	return sp
}

// add counts envelopes received and sent, and reports progress at most
// once per progressEvery.
func (sp *syncProgress) add(ctx context.Context, received, sent int) {
	sp.sy.runs.mu.Lock()
	run := sp.sy.runs.runs[sp.key]
	run.Received += received
	run.Sent += sent
	run.ReceivedTotal += received
	run.SentTotal += sent
	sp.sy.runs.mu.Unlock()
	if time.Since(sp.lastEvent) >= progressEvery {
		sp.lastEvent = time.Now()
		sp.report(ctx)
	}
}

// finish records the outcome of the run and reports it.
func (sp *syncProgress) finish(ctx context.Context, err error) {
	now := time.Now().UTC()
	sp.sy.runs.mu.Lock()
	run := sp.sy.runs.runs[sp.key]
	run.FinishedAt = &now
	run.State = "done"
	if err != nil {
		run.State, run.Error = "failed", err.Error()
	}
	sp.sy.runs.mu.Unlock()
	sp.report(ctx)
}

func (sp *syncProgress) report(ctx context.Context) {
	sp.sy.runs.mu.Lock()
	run := *sp.sy.runs.runs[sp.key]
	sp.sy.runs.mu.Unlock()
	at := time.Now().UTC()
	sp.sy.events.Append(ctx, protocol.Event{
		Type: protocol.EventSync, Room: run.Room,
		Sync: &protocol.SyncProgress{Peer: run.Peer, State: run.State, Received: run.Received, Sent: run.Sent, Error: run.Error, At: at},
	})
}

// Runs lists the latest sync run of every room and peer pair, newest
// first.
func (sy *Syncer) Runs() []SyncRun {
	sy.runs.mu.Lock()
	out := make([]SyncRun, 0, len(sy.runs.runs))
	for _, r := range sy.runs.runs {
		out = append(out, *r)
	}
	sy.runs.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out
}
