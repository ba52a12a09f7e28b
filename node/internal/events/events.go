// Package events appends the node's live events (typing, presence,
// receipts, message status, sync progress) to the store's event log, from
// which every API client reads them.
package events

import (
	"context"
	"log/slog"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Log appends events that need no durability of their own: a live signal
// lost in a crash means nothing once the node is back.
type Log struct {
	store *store.Store
	log   *slog.Logger
}

// New returns the event log of st; failures are logged to log.
func New(st *store.Store, log *slog.Logger) *Log { return &Log{store: st, log: log} }

// Append logs ev. A failure is logged, not returned: the caller has
// nothing better to do with it, and a closing node fails quietly.
func (l *Log) Append(ctx context.Context, ev protocol.Event) {
	if err := l.store.AppendEvents(ctx, false, ev); err != nil && ctx.Err() == nil {
		l.log.Warn("append event", "type", ev.Type, "err", err)
	}
}
