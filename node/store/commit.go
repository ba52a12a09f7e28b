package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	ds "github.com/ipfs/go-datastore"

	"github.com/peerchat/peerchat/protocol"
)

// maxBatch bounds how many writes share one synced batch, so that one
// flood of incoming messages cannot delay a local send for long.
const maxBatch = 512

// Outcome says what AddMessage did with an envelope.
type Outcome int

const (
	Added     Outcome = iota // stored, and an event was appended
	Duplicate                // already stored; nothing changed
	Resent                   // the client_msg_id was used before; Message is the earlier message
)

// AddResult is the answer to AddMessage.
type AddResult struct {
	Outcome Outcome
	Message protocol.Message
	Event   protocol.Event // set when Outcome is Added
}

// write is one request to the committer goroutine.
type write struct {
	env       *protocol.Envelope
	msg       protocol.Message
	clientKey string // non-empty for local sends that carry a client_msg_id
	put       func(ds.Batch) error
	kvs       []kv             // plain writes, for state other than messages
	events    []protocol.Event // events to append, seq assigned here
	result    AddResult
	err       error
	done      chan struct{}
	// async is set when nobody waits for the write: its batch is not
	// flushed before the committer moves on (see flushLoop).
	async bool
	// noEvent stores an envelope without a message event (AddSealed).
	noEvent bool
	// ifAbsent, when set, makes a plain write happen only if this key is
	// neither stored nor written earlier in the batch (AddOpened).
	ifAbsent string
}

// AddMessage stores a validated message envelope and appends a message
// event, both in one synced batch, unless the envelope is already stored.
// When the envelope is a local send with a client_msg_id that was used
// before in the room, nothing is written and the earlier message is
// returned. It returns once the batch is on disk.
func (s *Store) AddMessage(ctx context.Context, env *protocol.Envelope, msg protocol.Message) (AddResult, error) {
	w := &write{env: env, msg: msg, done: make(chan struct{})}
	if msg.ClientMsgID != "" && msg.Author != "" {
		w.clientKey = clientKey(env.Room, msg.Author, msg.ClientMsgID)
	}
	return w.result, s.submit(ctx, w)
}

// put runs fn inside the next synced batch.
func (s *Store) put(ctx context.Context, fn func(ds.Batch) error) error {
	return s.submit(ctx, &write{put: fn, done: make(chan struct{})})
}

func (s *Store) submit(ctx context.Context, w *write) error {
	if s.closed.Load() {
		return ErrClosed
	}
	select {
	case s.writes <- w:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write is committed even if ctx ends, so wait for it:
	// the caller must learn whether its message is stored.
	<-w.done
	return w.err
}

// clientKey hashes the idempotency key so that any client_msg_id is safe in
// a datastore key. The author is part of it: one user's key never matches
// another's.
func clientKey(room, author, clientMsgID string) string {
	h := sha256.Sum256([]byte(author + "\x00" + clientMsgID))
	return prefixClient + room + "/" + hex.EncodeToString(h[:])
}

// flushRetryDelay is how soon the flusher tries again after a failed
// flush, so that staged events are not left unshown when no further write
// comes to bring another flush.
const flushRetryDelay = 200 * time.Millisecond

// commitLoop applies every queued write, in order, one batch at a time.
func (s *Store) commitLoop() {
	defer close(s.done)
	for {
		select {
		case w := <-s.writes:
			s.commitBatch(w)
		case <-s.quit:
			for {
				select {
				case w := <-s.writes:
					s.commitBatch(w)
				default:
					return
				}
			}
		}
	}
}

// minFlushGap is the least time between the starts of two flushes made
// for batches nobody waits for. A received message that finds the disk
// idle is flushed at once; under a flood the flushes are spaced by this
// much, so that they cover many batches each (at most 500 a second) and
// leave the disk to local sends, at a cost of at most 2 ms to the flood's
// messages.
const minFlushGap = 2 * time.Millisecond

// flushLoop makes the batches nobody waits for durable, and then shows
// their events. It runs beside the committer, so the committer applies
// the next batches while a flush is under way, and one flush covers every
// batch applied before it started. After the committer has stopped it
// flushes once more and ends.
func (s *Store) flushLoop() {
	defer close(s.flushDone)
	timer := time.NewTimer(flushRetryDelay)
	timer.Stop()
	defer timer.Stop()
	var last time.Time // when the last flush started
	for {
		select {
		case <-s.flushReq:
		case <-timer.C: // a retry after a failed flush
		case <-s.done:
			s.flushAndShow()
			return
		}
		if wait := time.Until(last.Add(minFlushGap)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.done:
				s.flushAndShow()
				return
			}
		}
		last = time.Now()
		if !s.flushAndShow() {
			timer.Reset(flushRetryDelay)
		}
	}
}

// requestFlush asks the flusher for a flush; a request already pending
// covers this one too.
func (s *Store) requestFlush() {
	select {
	case s.flushReq <- struct{}{}:
	default:
	}
}

// flushAndShow flushes the WAL and shows every event staged before the
// flush began. It reports whether the flush succeeded.
func (s *Store) flushAndShow() bool {
	upTo := s.events.lastStaged()
	if s.beforeFlush != nil {
		s.beforeFlush()
	}
	if err := s.syncWAL(context.Background()); err != nil {
		// The next synced batch fails on the same error and reports it
		// to its writer; nobody waits here.
		s.log.Warn("flush received data", "err", err)
		return false
	}
	s.events.show(upTo)
	return true
}

// commitBatch gathers w and whatever else is queued into one batch, writes
// it with a single sync, and then answers every writer.
func (s *Store) commitBatch(first *write) {
	ctx := context.Background()
	batch := []*write{first}
	for len(batch) < maxBatch {
		select {
		case w := <-s.writes:
			batch = append(batch, w)
			continue
		default:
		}
		break
	}
	if err := s.checkSpace(); err != nil {
		s.fail(batch, err)
		return
	}
	b := s.newBatch()
	startSeq := s.nextSeq
	s.indexed = s.indexed[:0]
	pendingIDs := map[protocol.ID]bool{}
	pendingClient := map[string]protocol.Message{}
	pendingKeys := map[string]bool{}
	var events []tailEvent
	for _, w := range batch {
		if w.put != nil {
			w.err = w.put(b)
			continue
		}
		if w.env == nil {
			w.err = s.stagePlain(ctx, b, w, pendingKeys, &events)
			continue
		}
		w.err = s.stage(ctx, b, w, pendingIDs, pendingClient, &events)
	}
	if len(events) > 0 || len(s.indexed) > 0 {
		b.Put(ctx, ds.NewKey(keySeq), uintBytes(s.nextSeq-1))
		b.Put(ctx, ds.NewKey(keyLamport), uintBytes(s.lamport.Load()))
	}
	// A batch that nobody waits for (messages and signals from peers) is
	// applied here and flushed by the flusher, which shows its events once
	// they are on disk; a crash before then loses them unseen, and sync
	// fetches the messages again. Any other batch is committed and flushed
	// in one step, and its events are shown with it, together with those
	// of earlier batches: the WAL is flushed in order.
	async := allAsync(batch)
	if err := b.commit(!async); err != nil {
		s.failCommit(batch, startSeq, events, err)
		return
	}
	s.events.stage(events)
	s.indexCommitted()
	if async {
		s.requestFlush()
	} else {
		s.events.show(s.nextSeq - 1)
	}
	s.pruneEvents(ctx)
	for _, w := range batch {
		close(w.done)
	}
}

func allAsync(batch []*write) bool {
	for _, w := range batch {
		if !w.async {
			return false
		}
	}
	return true
}

// failCommit answers a batch whose commit failed. Pebble fails a commit
// before applying it (then nothing changed) or, for a synced commit, when
// the flush after applying it fails (then the batch is readable though not
// durable). The stored seq tells which: an applied batch's events are
// staged, and shown once a later flush succeeds, so their seqs are never
// given out again.
func (s *Store) failCommit(batch []*write, startSeq uint64, events []tailEvent, err error) {
	if len(events) > 0 {
		if stored, readErr := s.getUint(context.Background(), keySeq); readErr == nil && stored == s.nextSeq-1 {
			s.events.stage(events)
			s.indexCommitted()
			s.requestFlush()
		} else {
			s.nextSeq = startSeq
		}
	}
	s.fail(batch, fmt.Errorf("commit batch: %w", err))
}

func (s *Store) fail(batch []*write, err error) {
	for _, w := range batch {
		w.err = err
		close(w.done)
	}
}

// stage adds one message write to the batch, or decides it is a duplicate.
func (s *Store) stage(ctx context.Context, b ds.Batch, w *write, pendingIDs map[protocol.ID]bool, pendingClient map[string]protocol.Message, events *[]tailEvent) error {
	env := w.env
	if w.clientKey != "" {
		if m, ok := pendingClient[w.clientKey]; ok {
			w.result = AddResult{Outcome: Resent, Message: m}
			return nil
		}
		prev, err := s.db.Get(ctx, ds.NewKey(w.clientKey))
		switch {
		case err == nil:
			id, err := protocol.ParseID(string(prev))
			if err != nil {
				return fmt.Errorf("client_msg_id index: %w", err)
			}
			m, err := s.Message(ctx, id)
			if err != nil {
				return err
			}
			w.result = AddResult{Outcome: Resent, Message: m}
			return nil
		case !errors.Is(err, ds.ErrNotFound):
			return fmt.Errorf("read client_msg_id index: %w", err)
		}
	}
	id := env.ID()
	if pendingIDs[id] {
		w.result = AddResult{Outcome: Duplicate, Message: w.msg}
		return nil
	}
	has, err := s.db.Has(ctx, ds.NewKey(idKey(id)))
	if err != nil {
		return fmt.Errorf("check message %s: %w", id, err)
	}
	if has {
		w.result = AddResult{Outcome: Duplicate, Message: w.msg}
		return nil
	}
	order := orderKey(env.Lamport, id)
	seq := s.nextSeq
	ev := protocol.Event{Seq: seq, Type: protocol.EventMessage, Room: env.Room, Message: &w.msg}
	evJSON, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	puts := []struct {
		key string
		val []byte
	}{
		{messageKey(env.Room, order), env.Bytes()},
		{idKey(id), []byte(env.Room + "/" + order)},
	}
	if !w.noEvent {
		puts = append(puts, struct {
			key string
			val []byte
		}{eventKey(seq), evJSON})
	}
	if w.clientKey != "" {
		puts = append(puts, struct {
			key string
			val []byte
		}{w.clientKey, []byte(id.String())})
	}
	for _, p := range puts {
		if err := b.Put(ctx, ds.NewKey(p.key), p.val); err != nil {
			return fmt.Errorf("stage %s: %w", p.key, err)
		}
	}
	if !w.noEvent {
		s.nextSeq++
	}
	s.ObserveLamport(env.Lamport)
	pendingIDs[id] = true
	s.indexed = append(s.indexed, roomItem{env.Room, Item{Lamport: env.Lamport, ID: id}})
	if w.clientKey != "" {
		pendingClient[w.clientKey] = w.msg
	}
	if w.noEvent {
		w.result = AddResult{Outcome: Added, Message: w.msg}
		return nil
	}
	*events = append(*events, tailEvent{seq: seq, data: evJSON})
	w.result = AddResult{Outcome: Added, Message: w.msg, Event: ev}
	return nil
}

// AddMessageAsync queues a received envelope for storage and returns
// without waiting for the disk. Envelopes from peers need no
// acknowledgement: one lost in a crash is fetched again by sync.
func (s *Store) AddMessageAsync(ctx context.Context, env *protocol.Envelope, msg protocol.Message) error {
	if s.closed.Load() {
		return ErrClosed
	}
	w := &write{env: env, msg: msg, done: make(chan struct{}), async: true}
	select {
	case s.writes <- w:
		return nil
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush returns once every write queued before it is on disk: the
// committer handles writes in order.
func (s *Store) Flush(ctx context.Context) error {
	return s.put(ctx, func(ds.Batch) error { return nil })
}

// kv is one plain write; a nil value deletes the key.
type kv struct {
	key   string
	value []byte
}

// write queues plain writes and events in the next batch, waiting for the
// disk when wait is true.
func (s *Store) write(ctx context.Context, wait bool, kvs []kv, events ...protocol.Event) error {
	w := &write{kvs: kvs, events: events, done: make(chan struct{}), async: !wait}
	if wait {
		return s.submit(ctx, w)
	}
	return s.enqueue(ctx, w)
}

// AppendEvents adds events to the log. It waits for the disk only when
// wait is true: ephemeral events (typing, presence) need no durability.
func (s *Store) AppendEvents(ctx context.Context, wait bool, events ...protocol.Event) error {
	return s.write(ctx, wait, nil, events...)
}

func (s *Store) stagePlain(ctx context.Context, b ds.Batch, w *write, pendingKeys map[string]bool, events *[]tailEvent) error {
	if w.ifAbsent != "" {
		has := pendingKeys[w.ifAbsent]
		if !has {
			var err error
			if has, err = s.db.Has(ctx, ds.NewKey(w.ifAbsent)); err != nil {
				return fmt.Errorf("check %s: %w", w.ifAbsent, err)
			}
		}
		if has {
			w.result.Outcome = Duplicate
			return nil
		}
		pendingKeys[w.ifAbsent] = true
		w.result.Outcome = Added
	}
	for _, p := range w.kvs {
		var err error
		if p.value == nil {
			err = b.Delete(ctx, ds.NewKey(p.key))
		} else {
			err = b.Put(ctx, ds.NewKey(p.key), p.value)
		}
		if err != nil {
			return fmt.Errorf("stage %s: %w", p.key, err)
		}
	}
	for _, ev := range w.events {
		ev.Seq = s.nextSeq
		data, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if err := b.Put(ctx, ds.NewKey(eventKey(ev.Seq)), data); err != nil {
			return fmt.Errorf("stage event: %w", err)
		}
		s.nextSeq++
		*events = append(*events, tailEvent{seq: ev.Seq, data: data})
	}
	return nil
}
