package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	ds "github.com/ipfs/go-datastore"

	"github.com/peerchat/peerchat/protocol"
)

// ErrGone means events after the requested seq have been dropped from the
// log: a client resuming from there would miss some, so it must reload.
var ErrGone = errors.New("events are no longer kept")

// ErrAhead means the requested seq is newer than any event in the log,
// which happens when a client kept a seq from another node's data.
var ErrAhead = errors.New("seq is ahead of the event log")

// tailKeep is how many recent events are kept in memory so that live
// clients are served without touching the disk.
const tailKeep = 4096

// RawEvent is an event as stored: its seq and its JSON encoding, made once
// when the event is appended and sent as-is to every client.
type RawEvent struct {
	Seq  uint64
	JSON json.RawMessage
}

type tailEvent struct {
	seq  uint64
	data []byte
}

// eventTail holds the newest events and wakes readers when more arrive.
// An event enters it in two steps: staged when its batch is applied, shown
// when the batch is on disk. Readers see only shown events, so no event a
// client saw can be taken back by a crash, and its seq is never given to
// another event.
type eventTail struct {
	mu      sync.Mutex
	first   uint64 // oldest seq still in the datastore (last+1 when empty)
	last    uint64 // newest seq shown
	recent  []tailEvent
	unshown []tailEvent   // applied, in seq order, waiting for a flush
	changed chan struct{} // closed and replaced on every append
}

func (t *eventTail) init(first, last uint64) {
	t.first, t.last = first, last
	if first == 0 {
		t.first = last + 1
	}
	t.changed = make(chan struct{})
}

// stage holds the events of an applied batch until show is told that
// the batch is durable.
func (t *eventTail) stage(evs []tailEvent) {
	if len(evs) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unshown = append(t.unshown, evs...)
}

// lastStaged returns the newest seq staged or shown: a flush that starts
// after this call makes every event up to it durable.
func (t *eventTail) lastStaged() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.unshown); n > 0 {
		return t.unshown[n-1].seq
	}
	return t.last
}

// show makes the staged events with seq up to upTo visible to readers,
// once the caller has flushed the batches that hold them.
func (t *eventTail) show(upTo uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for n < len(t.unshown) && t.unshown[n].seq <= upTo {
		n++
	}
	if n == 0 {
		return
	}
	t.appendLocked(t.unshown[:n])
	t.unshown = append(t.unshown[:0], t.unshown[n:]...)
}

func (t *eventTail) appendLocked(evs []tailEvent) {
	t.recent = append(t.recent, evs...)
	if len(t.recent) > 2*tailKeep {
		t.recent = append([]tailEvent(nil), t.recent[len(t.recent)-tailKeep:]...)
	}
	t.last = evs[len(evs)-1].seq
	close(t.changed)
	t.changed = make(chan struct{})
}

// LastSeq returns the seq of the newest event.
func (s *Store) LastSeq() uint64 {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return s.events.last
}

// Events returns up to limit events with seq greater than since, oldest
// first. It returns ErrGone when some of those events were dropped.
func (s *Store) Events(ctx context.Context, since uint64, limit int) ([]RawEvent, error) {
	t := &s.events
	t.mu.Lock()
	if since > t.last {
		last := t.last
		t.mu.Unlock()
		return nil, fmt.Errorf("%w: since %d, newest event %d", ErrAhead, since, last)
	}
	if since+1 < t.first {
		first := t.first
		t.mu.Unlock()
		return nil, fmt.Errorf("%w: since %d, oldest kept event %d", ErrGone, since, first)
	}
	if len(t.recent) > 0 && t.recent[0].seq <= since+1 {
		i := int(since + 1 - t.recent[0].seq)
		var out []RawEvent
		for ; i < len(t.recent) && len(out) < limit; i++ {
			out = append(out, RawEvent{Seq: t.recent[i].seq, JSON: t.recent[i].data})
		}
		t.mu.Unlock()
		return out, nil
	}
	last := t.last
	t.mu.Unlock()
	// Events past last may be on disk already but not yet announced;
	// they are left for the next read, so that readers never run ahead
	// of the log.
	var out []RawEvent
	err := s.scan(eventKey(since+1), eventKey(last+1), false, func(key string, v []byte) bool {
		seq, err := strconv.ParseUint(key[len(prefixEvents):], 16, 64)
		if err != nil {
			return true
		}
		out = append(out, RawEvent{Seq: seq, JSON: append([]byte(nil), v...)})
		return len(out) < limit
	})
	return out, err
}

// WaitEvents blocks until an event with seq greater than since exists or
// ctx ends.
func (s *Store) WaitEvents(ctx context.Context, since uint64) error {
	for {
		s.events.mu.Lock()
		last, ch := s.events.last, s.events.changed
		s.events.mu.Unlock()
		if last > since {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.quit:
			return ErrClosed
		}
	}
}

// DecodeEvent parses a stored event.
func DecodeEvent(raw RawEvent) (protocol.Event, error) {
	var ev protocol.Event
	if err := json.Unmarshal(raw.JSON, &ev); err != nil {
		return ev, fmt.Errorf("decode event %d: %w", raw.Seq, err)
	}
	return ev, nil
}

func (s *Store) firstEventSeq() (uint64, error) {
	var first uint64
	err := s.scan(prefixEvents, prefixEnd(prefixEvents), false, func(key string, _ []byte) bool {
		first, _ = strconv.ParseUint(key[len(prefixEvents):], 16, 64)
		return false
	})
	return first, err
}

// pruneEvents drops the oldest events beyond MaxEvents. It runs on the
// committer goroutine, in chunks, so the log's size stays bounded without
// a pause.
func (s *Store) pruneEvents(ctx context.Context) {
	t := &s.events
	t.mu.Lock()
	first, last := t.first, t.last
	t.mu.Unlock()
	keep := uint64(s.opts.MaxEvents)
	if last < first || last-first+1 <= keep+keep/10 {
		return
	}
	newFirst := last - keep + 1
	b, err := s.db.Batch(ctx)
	if err != nil {
		s.log.Warn("prune events", "err", err)
		return
	}
	for seq := first; seq < newFirst; seq++ {
		if err := b.Delete(ctx, ds.NewKey(eventKey(seq))); err != nil {
			s.log.Warn("prune events", "err", err)
			return
		}
	}
	// Move the boundary first: a reader must never be told events exist
	// that are being deleted.
	t.mu.Lock()
	t.first = newFirst
	t.mu.Unlock()
	if err := b.Commit(ctx); err != nil {
		s.log.Warn("prune events", "err", err)
	}
}
