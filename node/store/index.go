package store

import (
	"context"
	"slices"
	"sync"

	"github.com/peerchat/peerchat/protocol/reconcile"
)

// Item is one entry of a room's ordered history index, as set
// reconciliation sees it: the same type, so that sync hands the index to
// the reconciler without a copy.
type Item = reconcile.Item

// maxPendingItems bounds the items stored while a room's index is lent
// out before they are merged into a fresh copy instead of waiting for the
// borrowers to finish.
const maxPendingItems = 1024

// roomIndexes holds, for every room sync has asked about, the room's
// history index in memory. Sync reads the whole index on every run; read
// from the datastore each time, it cost a fresh slice of the whole room
// per run, and the Go heap kept free memory in proportion to the largest
// room's history long after the syncs were over. Kept here, it costs
// 40 bytes a message once, and a sync borrows it without copying.
type roomIndexes struct {
	mu    sync.Mutex
	rooms map[string]*roomIndex
}

// roomIndex is one room's index. Lending it out is what keeps it cheap:
// while borrowed, the part borrowers see is never written, so items stored
// meanwhile either go after it (appended past every borrower's length) or
// wait in pending until the last borrower leaves.
type roomIndex struct {
	load sync.Mutex // held while the index is first read from the datastore

	mu        sync.Mutex // guards the fields below
	loaded    bool
	items     []Item // sorted, unique
	pending   []Item // stored while borrowed, not yet in items
	borrowers int
}

func (x *roomIndexes) room(name string) *roomIndex {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.rooms == nil {
		x.rooms = map[string]*roomIndex{}
	}
	r := x.rooms[name]
	if r == nil {
		r = &roomIndex{}
		x.rooms[name] = r
	}
	return r
}

// known returns room's index if it exists, so that writes to rooms sync
// never asked about cost nothing.
func (x *roomIndexes) known(name string) *roomIndex {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rooms[name]
}

// Items returns room's history index, oldest first, and a function to call
// once done with it. The slice is shared, not copied: the caller must not
// change it, and it holds still until release is called. Messages stored
// after the call are not in it.
func (s *Store) Items(ctx context.Context, room string) (items []Item, release func(), err error) {
	r := s.indexes.room(room)
	if err := s.loadIndex(ctx, room, r); err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) > 0 {
		// Borrowers hold the current slice, or pending would be empty:
		// the new borrower gets a merged copy, complete up to now.
		r.items = mergeItems(r.items, r.pending)
		r.pending = nil
	}
	r.borrowers++
	var once sync.Once
	return slices.Clip(r.items), func() { once.Do(r.giveBack) }, nil
}

// loadIndex reads room's index from the datastore the first time it is
// asked for. Writes committed while it reads go to pending and are merged
// in, so none is missed and none counted twice.
func (s *Store) loadIndex(ctx context.Context, room string, r *roomIndex) error {
	r.load.Lock()
	defer r.load.Unlock()
	r.mu.Lock()
	if r.loaded {
		r.mu.Unlock()
		return nil
	}
	r.borrowers++ // writes during the scan wait in pending
	r.mu.Unlock()
	items, err := s.scanItems(ctx, room)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.borrowers--
	if err != nil {
		r.pending = nil
		return err
	}
	r.items = mergeItems(items, r.pending)
	r.pending = nil
	r.loaded = true
	return nil
}

// giveBack ends one borrow; the last one out applies what waited.
func (r *roomIndex) giveBack() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.borrowers--
	if r.borrowers == 0 {
		for _, it := range r.pending {
			r.items = insertItem(r.items, it)
		}
		r.pending = nil
	}
}

// add records items just committed to room.
func (r *roomIndex) add(items []Item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		if r.borrowers > 0 { // being read: merged in when the read ends
			r.pending = append(r.pending, items...)
		}
		return // otherwise the read, when it comes, finds them
	}
	for _, it := range items {
		n := len(r.items)
		switch {
		case n == 0 || r.items[n-1].Compare(it) < 0:
			// After everything: no borrower sees this slot.
			r.items = append(r.items, it)
		case r.borrowers == 0:
			r.items = insertItem(r.items, it)
		default:
			r.pending = append(r.pending, it)
		}
	}
	if len(r.pending) > maxPendingItems {
		r.items = mergeItems(r.items, r.pending)
		r.pending = nil
	}
}

// dropThrough removes every item up to and including last, which
// retention has deleted. Slicing off the front changes nothing borrowers
// see.
func (r *roomIndex) dropThrough(last Item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := func(it Item) bool { return it.Compare(last) > 0 }
	i, _ := slices.BinarySearchFunc(r.items, last, Item.Compare)
	for i < len(r.items) && !keep(r.items[i]) {
		i++
	}
	r.items = r.items[i:]
	r.pending = slices.DeleteFunc(r.pending, func(it Item) bool { return !keep(it) })
}

// insertItem puts it into the sorted slice items in place, unless it is
// already there. New messages land near the end, so little moves.
func insertItem(items []Item, it Item) []Item {
	i, found := slices.BinarySearchFunc(items, it, Item.Compare)
	if found {
		return items
	}
	return slices.Insert(items, i, it)
}

// mergeItems returns a new sorted slice of items and extra, without
// duplicates; items must be sorted, extra need not be.
func mergeItems(items, extra []Item) []Item {
	extra = slices.Clone(extra)
	slices.SortFunc(extra, Item.Compare)
	out := make([]Item, 0, len(items)+len(extra))
	i, j := 0, 0
	for i < len(items) || j < len(extra) {
		var next Item
		switch {
		case j == len(extra) || (i < len(items) && items[i].Compare(extra[j]) <= 0):
			next = items[i]
			i++
		default:
			next = extra[j]
			j++
		}
		if n := len(out); n == 0 || out[n-1].Compare(next) != 0 {
			out = append(out, next)
		}
	}
	return out
}

// scanItems reads room's index from the datastore without reading any
// envelope.
func (s *Store) scanItems(ctx context.Context, room string) ([]Item, error) {
	var (
		items   []Item
		scanErr error
	)
	p := roomPrefix(room)
	err := s.scanRaw(p, prefixEnd(p), false, func(key, _ []byte) bool {
		l, id, err := parseOrderKeyBytes(key[len(p):])
		if err != nil {
			scanErr = err
			return false
		}
		items = append(items, Item{Lamport: l, ID: id})
		return true
	})
	if err == nil {
		err = scanErr
	}
	return items, err
}

// roomItem is an index entry with the room it belongs to.
type roomItem struct {
	room string
	item Item
}

// indexCommitted adds the messages of the batch just committed to their
// rooms' indexes. Called by the committer.
func (s *Store) indexCommitted() {
	if len(s.indexed) == 0 {
		return
	}
	byRoom := map[string][]Item{}
	for _, ri := range s.indexed {
		byRoom[ri.room] = append(byRoom[ri.room], ri.item)
	}
	s.indexed = s.indexed[:0]
	for room, items := range byRoom {
		if r := s.indexes.known(room); r != nil {
			r.add(items)
		}
	}
}
