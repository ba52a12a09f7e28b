package node

import (
	"context"
	"time"
)

// retentionEvery is how often a node with a retention rule prunes.
const retentionEvery = time.Minute

// horizon returns the Lamport clock up to which room's history was
// dropped by retention (0 when nothing was).
func (n *Node) horizon(room string) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.horizons[room]
}

// runRetention applies the retention rule to every joined room at start
// and then every minute, until ctx ends.
func (n *Node) runRetention(ctx context.Context) {
	r := n.cfg.Retention
	if r.MaxAge <= 0 && r.MaxBytes <= 0 {
		return
	}
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		for _, name := range n.roomNames() {
			n.pruneRoom(ctx, name)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneRoom drops what falls outside the retention rule, in chunks, and
// raises the room's horizon.
func (n *Node) pruneRoom(ctx context.Context, room string) {
	for ctx.Err() == nil {
		dropped, err := n.store.Prune(ctx, room, n.cfg.Retention, time.Now())
		if err != nil {
			n.log.Warn("retention", "room", room, "err", err)
			return
		}
		if dropped == 0 {
			return
		}
		h, err := n.store.Horizon(ctx, room)
		if err != nil {
			return
		}
		n.mu.Lock()
		n.horizons[room] = h
		n.mu.Unlock()
		n.log.Info("retention dropped old history", "room", room, "messages", dropped, "horizon", h)
	}
}
