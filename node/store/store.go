// Package store keeps a node's durable state in a go-datastore backed by
// Pebble: room history, the event log, joined rooms, known peers and the
// Lamport clock. All writes go through one committer goroutine that groups
// concurrent requests into a single batch followed by one disk flush, so
// durability costs one flush per batch rather than one per message.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	ds "github.com/ipfs/go-datastore"
	pebbleds "github.com/ipfs/go-ds-pebble"
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("store is closed")

// Options tune a Store. The zero value works.
type Options struct {
	// MaxEvents is how many events the log keeps before it drops the
	// oldest. Zero means 100,000.
	MaxEvents int
	// Logger receives storage warnings. Nil means slog.Default().
	Logger *slog.Logger
	// MinFreeBytes is the free space the store keeps on its disk: writes
	// are refused with ErrDiskFull below it. Pebble treats a failed write
	// as fatal and ends the process, so the store stops well before the
	// disk does. Zero means 64 MiB; negative turns the check off.
	MinFreeBytes int64
}

// Store is a node's durable state. It is safe for concurrent use.
type Store struct {
	dir  string
	db   *pebbleds.Datastore
	opts Options
	log  *slog.Logger

	writes chan *write
	quit   chan struct{}
	done   chan struct{}
	closed atomic.Bool

	lamport atomic.Uint64

	// flushReq wakes the flusher (see flushLoop), which closes flushDone
	// when it ends, after the committer.
	flushReq  chan struct{}
	flushDone chan struct{}
	// beforeFlush, when set by a test, runs in the flusher before each
	// flush it makes.
	beforeFlush func()

	// Owned by the committer goroutine after Open returns.
	nextSeq        uint64
	lastSpaceCheck time.Time
	spaceErr       error

	events eventTail

	// indexed holds the messages of the batch being committed, for the
	// room indexes once the commit succeeds. Owned by the committer.
	indexed []roomItem
	indexes roomIndexes
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Store, error) { return open(dir, opts, nil) }

// open is Open on the file system fs, or the disk when fs is nil; tests
// give a MemFS that can simulate a crash.
func open(dir string, opts Options, fs vfs.FS) (*Store, error) {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 100_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MinFreeBytes == 0 {
		opts.MinFreeBytes = 64 << 20
	}
	// Writes are applied unsynced and made durable by a synced commit or
	// an explicit WAL flush (syncWAL), so that batches nobody waits for
	// can share a flush made beside the committer (see flushLoop).
	dsOpts := []pebbleds.Option{pebbleds.WithPebbleWriteOptions(pebble.NoSync)}
	if fs != nil {
		dsOpts = append(dsOpts, pebbleds.WithPebbleOpts(&pebble.Options{FS: fs}))
	}
	db, err := pebbleds.NewDatastore(dir, dsOpts...)
	if err != nil {
		return nil, fmt.Errorf("open datastore in %s: %w", dir, err)
	}
	s := &Store{
		dir:       dir,
		db:        db,
		opts:      opts,
		log:       opts.Logger,
		writes:    make(chan *write, 1024),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		flushReq:  make(chan struct{}, 1),
		flushDone: make(chan struct{}),
	}
	ctx := context.Background()
	if err := s.upgrade(ctx); err != nil {
		db.Close()
		return nil, err
	}
	seq, err := s.getUint(ctx, keySeq)
	if err != nil {
		db.Close()
		return nil, err
	}
	lamport, err := s.getUint(ctx, keyLamport)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.nextSeq = seq + 1
	s.lamport.Store(lamport)
	first, err := s.firstEventSeq()
	if err != nil {
		db.Close()
		return nil, err
	}
	s.events.init(first, seq)
	go s.commitLoop()
	go s.flushLoop()
	return s, nil
}

// Close stops the committer after it has finished the writes already
// queued, waits for the flusher's last flush, then closes the datastore.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.quit)
	<-s.done
	<-s.flushDone
	return s.db.Close()
}

// syncWAL makes every write applied so far durable.
func (s *Store) syncWAL(ctx context.Context) error {
	if err := s.db.Sync(ctx, ds.NewKey("/")); err != nil {
		return fmt.Errorf("flush to disk: %w", err)
	}
	return nil
}

func (s *Store) getUint(ctx context.Context, key string) (uint64, error) {
	v, err := s.db.Get(ctx, ds.NewKey(key))
	if errors.Is(err, ds.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("read %s: %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func uintBytes(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// ObserveLamport advances the Lamport clock to at least l. Every envelope
// received or sent passes through here so that the next local send orders
// after everything this node has seen.
func (s *Store) ObserveLamport(l uint64) {
	for {
		cur := s.lamport.Load()
		if l <= cur || s.lamport.CompareAndSwap(cur, l) {
			return
		}
	}
}

// NextLamport ticks the clock and returns the value for a new envelope.
func (s *Store) NextLamport() uint64 { return s.lamport.Add(1) }

// scan calls fn for each key in [lower, upper) in order (or reverse order)
// until fn returns false. It reads Pebble directly because go-datastore
// queries cannot start at a key, which history paging needs.
func (s *Store) scan(lower, upper string, reverse bool, fn func(key string, value []byte) bool) error {
	return s.scanRaw(lower, upper, reverse, func(key, value []byte) bool { return fn(string(key), value) })
}

// scanRaw is scan with the key as the iterator's own bytes, valid only
// during the call: whole-room scans use it to skip a copy per key.
func (s *Store) scanRaw(lower, upper string, reverse bool, fn func(key, value []byte) bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	it, err := s.db.DB.NewIter(&pebble.IterOptions{LowerBound: []byte(lower), UpperBound: []byte(upper)})
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	valid := it.First()
	step := it.Next
	if reverse {
		valid = it.Last()
		step = it.Prev
	}
	for ; valid; valid = step() {
		if !fn(it.Key(), it.Value()) {
			break
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return fmt.Errorf("iterate %s: %w", lower, err)
	}
	return it.Close()
}

// prefixEnd returns the smallest key greater than every key with prefix p.
// Our prefixes end in '/', so bumping that byte is enough.
func prefixEnd(p string) string { return p[:len(p)-1] + string(p[len(p)-1]+1) }
