package store

import (
	"context"
	"fmt"
	"time"

	ds "github.com/ipfs/go-datastore"

	"github.com/peerchat/peerchat/protocol"
)

// /hz/<room> holds the room's horizon: the largest Lamport clock of any
// message dropped by retention.
const prefixHorizon = "/hz/"

// Retention bounds a room's stored history. The zero value keeps
// everything.
type Retention struct {
	MaxAge   time.Duration // drop messages sent longer ago than this
	MaxBytes int64         // drop the oldest messages beyond this many bytes per room
}

// Horizon returns the Lamport clock up to which room's history was dropped.
func (s *Store) Horizon(ctx context.Context, room string) (uint64, error) {
	return s.getUint(ctx, prefixHorizon+room)
}

// Prune drops the oldest messages of room that fall outside r, in history
// order, and raises the room's horizon past them. Messages stop being
// dropped at the first one that is young enough and fits, so the kept
// history has no holes. It returns how many messages were dropped.
func (s *Store) Prune(ctx context.Context, room string, r Retention, now time.Time) (int, error) {
	if r.MaxAge <= 0 && r.MaxBytes <= 0 {
		return 0, nil
	}
	var total int64
	p := roomPrefix(room)
	if r.MaxBytes > 0 {
		if err := s.scan(p, prefixEnd(p), false, func(_ string, v []byte) bool { total += int64(len(v)); return true }); err != nil {
			return 0, err
		}
	}
	type victim struct {
		key     string
		id      protocol.ID
		lamport uint64
	}
	var victims []victim
	var scanErr error
	firstKept := uint64(0)
	kept := false
	err := s.scan(p, prefixEnd(p), false, func(key string, v []byte) bool {
		env, err := protocol.DecodeStored(v)
		if err != nil {
			scanErr = err
			return false
		}
		tooOld := r.MaxAge > 0 && env.SentAt.Before(now.Add(-r.MaxAge))
		tooBig := r.MaxBytes > 0 && total > r.MaxBytes
		// A private room's epoch change is kept, and pruning stops at it:
		// sync offers only what lies above the horizon, so a horizon past
		// a kept epoch would hide it from a member offline longer than
		// the retention, who then could not follow the chain.
		if (!tooOld && !tooBig) || protocol.RetentionExempt(env.Kind) {
			firstKept, kept = env.Lamport, true
			return false
		}
		total -= int64(len(v))
		victims = append(victims, victim{key, env.ID(), env.Lamport})
		return len(victims) < 10_000 // in chunks; the next call continues
	})
	if err == nil {
		err = scanErr
	}
	// The horizon is a Lamport clock, so a message kept must not share its
	// clock with one dropped: sync would take it as below the horizon.
	for kept && len(victims) > 0 && victims[len(victims)-1].lamport == firstKept {
		victims = victims[:len(victims)-1]
	}
	if err != nil || len(victims) == 0 {
		return 0, err
	}
	horizon := victims[len(victims)-1].lamport
	err = s.put(ctx, func(b ds.Batch) error {
		for _, v := range victims {
			if err := b.Delete(ctx, ds.NewKey(v.key)); err != nil {
				return err
			}
			if err := b.Delete(ctx, ds.NewKey(idKey(v.id))); err != nil {
				return err
			}
		}
		return b.Put(ctx, ds.NewKey(prefixHorizon+room), uintBytes(horizon))
	})
	if err != nil {
		return 0, fmt.Errorf("prune %s: %w", room, err)
	}
	if r := s.indexes.known(room); r != nil {
		last := victims[len(victims)-1]
		r.dropThrough(Item{Lamport: last.lamport, ID: last.id})
	}
	return len(victims), nil
}
