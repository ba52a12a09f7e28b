package roomsync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sketch"
)

// maxSketchTables bounds the tables of one /peerchat/sync/1.1.0 session on
// both sides. Tables grow at least twofold from a few dozen cells, so eight
// reach sketch.MaxCells; an initiator falls back to range reconciliation
// before this, and a responder refuses a ninth table.
const maxSketchTables = 8

// errPhaseDone, returned by a frame handler given to receiveEnvelopes,
// ends the reading like a Done frame does: the peer has finished one
// phase of the exchange but not the stream.
var errPhaseDone = errors.New("sync phase done")

// keyIndex holds a room's items under one session's sketch keys, sorted by
// key, so that a key a peer names maps back to the items that have it:
// usually one, several in the rare case of a collision. It refers to the
// room's index by position rather than copying IDs: 16 bytes an item, made
// on every sketch sync.
type keyIndex struct {
	seed  uint64
	room  []store.Item
	items []keyedItem
}

type keyedItem struct {
	key uint64
	pos uint32 // in room
}

func newKeyIndex(seed uint64, items []store.Item) *keyIndex {
	x := &keyIndex{seed: seed, room: items, items: make([]keyedItem, len(items))}
	for i, it := range items {
		x.items[i] = keyedItem{sketch.Key(seed, it.ID), uint32(i)}
	}
	slices.SortFunc(x.items, func(a, b keyedItem) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return x
}

// lookup returns the positions in the room's index of every item with
// key.
func (x *keyIndex) lookup(key uint64) []uint32 {
	i := sort.Search(len(x.items), func(i int) bool { return x.items[i].key >= key })
	var pos []uint32
	for ; i < len(x.items) && x.items[i].key == key; i++ {
		pos = append(pos, x.items[i].pos)
	}
	return pos
}

// inHistoryOrder returns the IDs of the items at pos, oldest first. Keys
// come in no useful order, and envelopes are sent in history order so
// that each author's messages arrive in the order it sent them, which is
// what the receiver's per-author limit on sync measures (sentAtLimit).
func (x *keyIndex) inHistoryOrder(pos []uint32) []protocol.ID {
	slices.Sort(pos)
	ids := make([]protocol.ID, len(pos))
	for i, p := range pos {
		ids[i] = x.room[p].ID
	}
	return ids
}

// table returns a sketch of every item in a table of cells cells.
func (x *keyIndex) table(cells int) *sketch.Table {
	t := sketch.New(x.seed, cells)
	for _, it := range x.items {
		t.Insert(it.key)
	}
	return t
}

// reconcileSketch runs the initiator's side of /peerchat/sync/1.1.0 after
// the hellos: send a table of its keys sized by the difference of the two
// counts; the responder either asks for a larger one or, once the table
// peels, pushes what this side lacks and names by key what it lacks
// itself. Tables that will not peel end in range reconciliation on the
// same stream, which always terminates.
func (sy *Syncer) reconcileSketch(ctx context.Context, rd *bufio.Reader, w *bufio.Writer, room string, items []store.Item, sp *syncProgress) error {
	payload, err := expectFrame(rd, protocol.FrameSketch)
	if err != nil {
		return err
	}
	size, err := sketch.Decode(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", protocol.ErrFrame, err)
	}
	if size.Kind != sketch.KindSize {
		return fmt.Errorf("%w: %w: sketch message of kind %d before the size", protocol.ErrFrame, errUnexpected, size.Kind)
	}
	// A fresh seed per session: keys that collide now almost surely do not
	// next time, and the responder cannot have crafted items against it.
	idx := newKeyIndex(rand.Uint64(), items)
	cells, ok := sketch.CellsFor(countDiff(len(items), size.N))
	ok = ok && !sy.cfg.RangesOnly
	for tables := 1; ok && tables <= maxSketchTables; tables++ {
		if err := protocol.WriteFrame(w, protocol.FrameSketch, sketch.EncodeTable(idx.table(cells))); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		retry, wanted, err := sy.readSketchAnswer(ctx, rd, room, idx, len(items), sp)
		if err != nil {
			return err
		}
		if retry == nil {
			return sy.finishSync(ctx, rd, w, room, wanted, sp)
		}
		cells, ok = sketch.Next(cells, int(min(retry.N, sketch.MaxCells)))
	}
	sy.log.Debug("sketch sync falls back to range reconciliation", "room", room, "items", len(items), "peer_items", size.N)
	return sy.reconcileRanges(ctx, rd, w, room, items, sp)
}

// readSketchAnswer reads the responder's answer to one table: a Retry, or
// the envelopes this side lacks, WantKeys frames and Decoded. It returns
// the Retry (nil when the table peeled) and the IDs the responder wants.
func (sy *Syncer) readSketchAnswer(ctx context.Context, rd *bufio.Reader, room string, idx *keyIndex, held int, sp *syncProgress) (*sketch.Message, []protocol.ID, error) {
	var (
		retry  *sketch.Message
		wanted []uint32
		keys   int
	)
	err := sy.receiveEnvelopes(ctx, rd, room, sp, func(t protocol.FrameType, payload []byte) error {
		switch t {
		case protocol.FrameWantKeys:
			ks, err := protocol.DecodeKeys(payload)
			if err != nil {
				return err
			}
			if keys += len(ks); keys > held {
				return fmt.Errorf("%w: %w: wants more keys than the room holds", protocol.ErrFrame, errLimit)
			}
			for _, k := range ks {
				wanted = append(wanted, idx.lookup(k)...)
			}
			return nil
		case protocol.FrameSketch:
			m, err := sketch.Decode(payload)
			if err != nil {
				return fmt.Errorf("%w: %w", protocol.ErrFrame, err)
			}
			switch m.Kind {
			case sketch.KindRetry:
				retry = &m
				return errPhaseDone
			case sketch.KindDecoded:
				return errPhaseDone
			}
			return fmt.Errorf("%w: %w: sketch message of kind %d in an answer", protocol.ErrFrame, errUnexpected, m.Kind)
		}
		return fmt.Errorf("%w: %w: type %d", protocol.ErrFrame, errUnexpected, t)
	})
	return retry, idx.inHistoryOrder(wanted), err
}

// countDiff is |a - b|, the lower bound of two sets' difference their
// sizes give, saturating rather than overflowing.
func countDiff(a int, b uint64) int {
	if uint64(a) >= b {
		return int(uint64(a) - b)
	}
	return int(min(b-uint64(a), sketch.MaxCells))
}

// sketchAnswer is the responder's side of /peerchat/sync/1.1.0: it answers
// each table, and once one peels it has sent everything of its own and
// only the initiator's envelopes and Done may follow.
type sketchAnswer struct {
	sy       *Syncer
	room     string
	items    []store.Item
	idx      *keyIndex // for the seed of the latest table
	tables   int
	answered bool
}

// answer handles one Table message.
func (a *sketchAnswer) answer(ctx context.Context, w *bufio.Writer, payload []byte, sp *syncProgress) error {
	if a.answered {
		return fmt.Errorf("%w: %w: table after the answer", protocol.ErrFrame, errUnexpected)
	}
	if a.tables++; a.tables > maxSketchTables {
		return fmt.Errorf("%w: %w: more than %d tables", protocol.ErrFrame, errLimit, maxSketchTables)
	}
	m, err := sketch.Decode(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", protocol.ErrFrame, err)
	}
	if m.Kind != sketch.KindTable {
		return fmt.Errorf("%w: %w: sketch message of kind %d from the initiator", protocol.ErrFrame, errUnexpected, m.Kind)
	}
	if a.idx == nil || a.idx.seed != m.Table.Seed() {
		a.idx = newKeyIndex(m.Table.Seed(), a.items)
	}
	diff := a.idx.table(m.Table.Len())
	if err := diff.Subtract(m.Table); err != nil {
		return err
	}
	estimate := diff.Estimate()
	d, err := diff.Peel()
	push, ok := a.resolve(d)
	if err != nil || !ok {
		if err := protocol.WriteFrame(w, protocol.FrameSketch, sketch.EncodeRetry(uint64(estimate))); err != nil {
			return err
		}
		return w.Flush()
	}
	a.answered = true
	if err := a.sy.sendEnvelopes(ctx, w, push, sp); err != nil {
		return err
	}
	if err := a.sy.sendMarkers(ctx, w, a.room, sp); err != nil {
		return err
	}
	for keys := d.Neg; len(keys) > 0; {
		batch := keys[:min(len(keys), protocol.MaxWantKeys)]
		keys = keys[len(batch):]
		if err := protocol.WriteFrame(w, protocol.FrameWantKeys, protocol.EncodeKeys(batch)); err != nil {
			return err
		}
	}
	if err := protocol.WriteFrame(w, protocol.FrameSketch, sketch.EncodeDecoded()); err != nil {
		return err
	}
	return w.Flush()
}

// resolve maps a peeled difference to the IDs to push. It reports false
// when the difference cannot be right: a key this side should hold that it
// does not, or a key only the initiator should hold that this side holds
// too (a collision across the two sides, which a larger table or the
// fallback resolves).
func (a *sketchAnswer) resolve(d sketch.Diff) ([]protocol.ID, bool) {
	var push []uint32
	for _, k := range d.Pos {
		pos := a.idx.lookup(k)
		if len(pos) == 0 {
			return nil, false
		}
		push = append(push, pos...)
	}
	for _, k := range d.Neg {
		if len(a.idx.lookup(k)) > 0 {
			return nil, false
		}
	}
	return a.idx.inHistoryOrder(push), true
}
