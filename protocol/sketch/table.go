package sketch

import (
	"errors"
	"fmt"
	"math"
)

// K is how many cells each key goes into. Three gives the best ratio of
// cells to decodable difference for large differences (a table of about
// 1.23 cells per key peels with high probability).
const K = 3

// MaxCells bounds a table. With the largest cell encoding (a five-byte
// count, eight bytes of key sum, four of hash sum) a table of MaxCells fits
// one 1 MiB sync frame; beyond it listing fingerprints of ranges is the
// cheaper way to reconcile anyway.
const MaxCells = 60_000

// maxCount bounds a cell's count in a decoded table: no room holds more
// items, and keeping counts small keeps the cell encoding within MaxCells'
// frame budget.
const maxCount = 1 << 31

var (
	// ErrUndecodable is returned by Peel when the difference is too large
	// for the table, or the tables were not built from the same seed and
	// size. It is never a wrong answer: the caller should try a larger table.
	ErrUndecodable = errors.New("sketch: difference does not peel")
	// ErrMismatch is returned when combining tables of different shapes.
	ErrMismatch = errors.New("sketch: tables differ in size or seed")
)

// Cell is one cell of a table.
type Cell struct {
	Count   int64
	KeySum  uint64
	HashSum uint32
}

func (c Cell) zero() bool { return c.Count == 0 && c.KeySum == 0 && c.HashSum == 0 }

// Table is an invertible Bloom lookup table. The zero value is not usable:
// create one with New.
type Table struct {
	seed  uint64
	cells []Cell
}

// New returns an empty table of about cells cells (rounded up to a multiple
// of K, and clamped to [K, MaxCells]) for keys derived under seed.
func New(seed uint64, cells int) *Table {
	return &Table{seed: seed, cells: make([]Cell, roundCells(cells))}
}

// roundCells is the table size actually used for a requested size.
func roundCells(cells int) int {
	cells = min(max(cells, K), MaxCells)
	return (cells + K - 1) / K * K
}

// Len is the number of cells.
func (t *Table) Len() int { return len(t.cells) }

// Seed is the seed the table's keys were derived under.
func (t *Table) Seed() uint64 { return t.seed }

// Insert adds key to the table. Inserting the same key twice counts it
// twice.
func (t *Table) Insert(key uint64) { t.toggle(key, 1) }

func (t *Table) toggle(key uint64, sign int64) {
	h := check(t.seed, key)
	for j := 0; j < K; j++ {
		c := &t.cells[cellIndex(t.seed, key, j, len(t.cells))]
		c.Count += sign
		c.KeySum ^= key
		c.HashSum ^= h
	}
}

// Subtract removes every key of o from t, leaving in t the difference of
// the two sets: keys only t held count +1, keys only o held count -1.
func (t *Table) Subtract(o *Table) error {
	if t.seed != o.seed || len(t.cells) != len(o.cells) {
		return ErrMismatch
	}
	for i := range t.cells {
		t.cells[i].Count -= o.cells[i].Count
		t.cells[i].KeySum ^= o.cells[i].KeySum
		t.cells[i].HashSum ^= o.cells[i].HashSum
	}
	return nil
}

// pure reports whether cell i holds exactly one key, and which.
func (t *Table) pure(i int) (key uint64, sign int64, ok bool) {
	c := t.cells[i]
	if c.Count != 1 && c.Count != -1 {
		return 0, 0, false
	}
	if c.HashSum != check(t.seed, c.KeySum) {
		return 0, 0, false
	}
	// A key lies in one cell per partition; a key sum that does not map
	// back to this cell is a sum of several keys that fooled the check.
	if cellIndex(t.seed, c.KeySum, i/(len(t.cells)/K), len(t.cells)) != i {
		return 0, 0, false
	}
	return c.KeySum, c.Count, true
}

// Diff is a peeled difference: Pos holds the keys only the table that was
// subtracted from held, Neg those only the subtracted table held.
type Diff struct {
	Pos, Neg []uint64
}

// Peel decodes the difference a Subtract left in t, emptying t. It returns
// ErrUndecodable, and no keys, when the table does not peel to empty. The
// work is bounded by the table's size whatever its contents.
func (t *Table) Peel() (Diff, error) {
	var d Diff
	// Each genuine peel removes one key; a table of m cells cannot hold
	// a peelable difference of more than m keys, so more peels than that
	// means the cells are not what an honest subtraction leaves.
	limit := len(t.cells)
	seen := make(map[uint64]bool)
	queue := make([]int, 0, len(t.cells))
	for i := range t.cells {
		queue = append(queue, i)
	}
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		key, sign, ok := t.pure(i)
		if !ok {
			continue
		}
		if seen[key] || len(seen) >= limit {
			return Diff{}, ErrUndecodable
		}
		seen[key] = true
		if sign > 0 {
			d.Pos = append(d.Pos, key)
		} else {
			d.Neg = append(d.Neg, key)
		}
		t.toggle(key, -sign)
		for j := 0; j < K; j++ {
			queue = append(queue, cellIndex(t.seed, key, j, len(t.cells)))
		}
	}
	for _, c := range t.cells {
		if !c.zero() {
			return Diff{}, ErrUndecodable
		}
	}
	return d, nil
}

// Estimate guesses the number of keys in a difference table from the
// fraction of its cells that are not empty, as linear counting does: with d
// keys each partition of p cells has about p*exp(-d/p) empty ones. It
// returns 0 when every cell is occupied, which says only that the
// difference is large compared with the table.
func (t *Table) Estimate() int {
	busy := 0
	for _, c := range t.cells {
		if !c.zero() {
			busy++
		}
	}
	m := float64(len(t.cells))
	if busy == len(t.cells) {
		return 0
	}
	return int(math.Ceil(-m / K * math.Log(1-float64(busy)/m)))
}

// String describes the table for test failures.
func (t *Table) String() string {
	return fmt.Sprintf("sketch.Table{%d cells, seed %#x}", len(t.cells), t.seed)
}
