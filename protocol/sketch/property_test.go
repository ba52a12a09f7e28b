package sketch

import (
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// session plays the sketch exchange of /peerchat/sync/1.1.0 between an
// initiator holding a and a responder holding b, as node/syncsketch.go
// does: sized by the difference of the counts, retried with Next, and
// falling back to listing keys when the table cannot grow. It returns what
// each side holds at the end and how many tables were sent.
func session(seed uint64, a, b [][32]byte) (endA, endB [][32]byte, tables int, fellBack bool) {
	index := func(ids [][32]byte) map[uint64][][32]byte {
		m := map[uint64][][32]byte{}
		for _, id := range ids {
			k := Key(seed, id)
			m[k] = append(m[k], id)
		}
		return m
	}
	ia, ib := index(a), index(b)
	build := func(ids [][32]byte, cells int) *Table {
		t := New(seed, cells)
		for _, id := range ids {
			t.Insert(Key(seed, id))
		}
		return t
	}
	endA, endB = slices.Clone(a), slices.Clone(b)
	cells, _ := CellsFor(abs(len(a) - len(b)))
	for {
		tables++
		// The table crosses the wire, as the responder would see it.
		m, err := Decode(EncodeTable(build(a, cells)))
		if err != nil {
			panic(err)
		}
		diff := build(b, cells)
		if err := diff.Subtract(m.Table); err != nil {
			panic(err)
		}
		estimate := diff.Estimate()
		d, err := diff.Peel()
		ok := err == nil
		for _, k := range d.Pos {
			ok = ok && len(ib[k]) > 0
		}
		for _, k := range d.Neg {
			ok = ok && len(ib[k]) == 0
		}
		if ok {
			for _, k := range d.Pos {
				endA = append(endA, ib[k]...)
			}
			for _, k := range d.Neg {
				endB = append(endB, ia[k]...)
			}
			return endA, endB, tables, false
		}
		if cells, ok = Next(cells, estimate); !ok {
			// The fallback: each side gets what the other lists.
			for _, id := range b {
				if !slices.Contains(a, id) {
					endA = append(endA, id)
				}
			}
			for _, id := range a {
				if !slices.Contains(b, id) {
					endB = append(endB, id)
				}
			}
			return endA, endB, tables, true
		}
	}
}

func abs(x int) int { return max(x, -x) }

func union(a, b [][32]byte) [][32]byte {
	out := slices.Concat(a, b)
	slices.SortFunc(out, func(x, y [32]byte) int { return slices.Compare(x[:], y[:]) })
	return slices.Compact(out)
}

func sortedIDs(ids [][32]byte) [][32]byte {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(x, y [32]byte) int { return slices.Compare(x[:], y[:]) })
	return out
}

func TestSketchExchangeEndsWithTheUnionOnBothSidesProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		common := rapid.IntRange(0, 3000).Draw(t, "common")
		onlyA := rapid.IntRange(0, 300).Draw(t, "onlyA")
		onlyB := rapid.IntRange(0, 300).Draw(t, "onlyB")
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "ids"), 0))
		gen := func(n int) [][32]byte {
			out := make([][32]byte, n)
			for i := range out {
				for j := 0; j < 32; j += 8 {
					v := rng.Uint64()
					for k := 0; k < 8; k++ {
						out[i][j+k] = byte(v >> (8 * k))
					}
				}
			}
			return out
		}
		shared := gen(common)
		a := append(gen(onlyA), shared...)
		b := append(gen(onlyB), shared...)
		endA, endB, tables, fellBack := session(rapid.Uint64().Draw(t, "seed"), a, b)
		want := union(a, b)
		if !slices.Equal(sortedIDs(endA), want) || !slices.Equal(sortedIDs(endB), want) {
			t.Fatalf("after %d tables (fallback %v): initiator holds %d, responder %d, union %d",
				tables, fellBack, len(endA), len(endB), len(want))
		}
		if fellBack {
			t.Fatalf("a difference of %d needed the fallback", onlyA+onlyB)
		}
		if tables > 6 {
			t.Fatalf("a difference of %d/%d took %d tables", onlyA, onlyB, tables)
		}
	})
}
