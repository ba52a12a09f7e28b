package sketch

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// mustCells is CellsFor for a difference that fits a table.
func mustCells(t testing.TB, d int) int {
	t.Helper()
	cells, ok := CellsFor(d)
	if !ok {
		t.Fatalf("a difference of %d does not fit a table", d)
	}
	return cells
}

// randomKeys returns n distinct random keys.
func randomKeys(rng *rand.Rand, n int) []uint64 {
	seen := make(map[uint64]bool, n)
	out := make([]uint64, 0, n)
	for len(out) < n {
		k := rng.Uint64()
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// tableOf builds a table of the given keys.
func tableOf(seed uint64, cells int, keys []uint64) *Table {
	t := New(seed, cells)
	for _, k := range keys {
		t.Insert(k)
	}
	return t
}

// diffTable builds tables of a and b and subtracts b's from a's.
func diffTable(seed uint64, cells int, a, b []uint64) *Table {
	t := tableOf(seed, cells, a)
	if err := t.Subtract(tableOf(seed, cells, b)); err != nil {
		panic(err)
	}
	return t
}

// split returns shared keys plus keys only in a and only in b.
func split(rng *rand.Rand, shared, onlyA, onlyB int) (a, b, wantPos, wantNeg []uint64) {
	keys := randomKeys(rng, shared+onlyA+onlyB)
	common := keys[:shared]
	wantPos = keys[shared : shared+onlyA]
	wantNeg = keys[shared+onlyA:]
	a = append(slices.Clone(common), wantPos...)
	b = append(slices.Clone(common), wantNeg...)
	rng.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
	return a, b, wantPos, wantNeg
}

func sorted(keys []uint64) []uint64 {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}
