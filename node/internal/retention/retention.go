// Package retention applies a store node's retention rule to its rooms and
// keeps each joined room's horizon: the Lamport clock up to which history
// was dropped. Envelopes at or below it are not stored again, and sync
// does not offer or ask for them.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/peerchat/peerchat/node/store"
)

// every is how often a node with a retention rule prunes.
const every = time.Minute

// Keeper prunes rooms and caches their horizons. Its methods are safe for
// concurrent use.
type Keeper struct {
	store *store.Store
	rule  store.Retention
	log   *slog.Logger

	mu       sync.Mutex
	horizons map[string]uint64 // guarded by mu
}

// New returns a keeper applying rule (the zero rule keeps everything).
func New(st *store.Store, rule store.Retention, log *slog.Logger) *Keeper {
	return &Keeper{store: st, rule: rule, log: log, horizons: map[string]uint64{}}
}

// Load reads room's horizon from the store, as a room is joined.
func (k *Keeper) Load(ctx context.Context, room string) error {
	h, err := k.store.Horizon(ctx, room)
	if err != nil {
		return fmt.Errorf("read horizon of %s: %w", room, err)
	}
	k.set(room, h)
	return nil
}

// Horizon returns the Lamport clock up to which room's history was
// dropped (0 when nothing was).
func (k *Keeper) Horizon(room string) uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.horizons[room]
}

func (k *Keeper) set(room string, h uint64) {
	k.mu.Lock()
	k.horizons[room] = h
	k.mu.Unlock()
}

// Run applies the rule to every room rooms lists, at start and then every
// minute, until ctx ends. Without a rule it returns at once.
func (k *Keeper) Run(ctx context.Context, rooms func() []string) {
	if k.rule.MaxAge <= 0 && k.rule.MaxBytes <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, name := range rooms() {
			k.Prune(ctx, name)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune drops what falls outside the rule, in chunks, and raises the
// room's horizon.
func (k *Keeper) Prune(ctx context.Context, room string) {
	for ctx.Err() == nil {
		dropped, err := k.store.Prune(ctx, room, k.rule, time.Now())
		if err != nil {
			k.log.Warn("retention", "room", room, "err", err)
			return
		}
		if dropped == 0 {
			return
		}
		h, err := k.store.Horizon(ctx, room)
		if err != nil {
			return
		}
		k.set(room, h)
		k.log.Info("retention dropped old history", "room", room, "messages", dropped, "horizon", h)
	}
}
