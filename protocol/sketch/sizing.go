package sketch

// slack is added to every table size. Small differences need relatively
// more room to peel than large ones (with 10 keys, 1.5 cells per key
// fails often; with 10,000 it almost never does), and a few dozen cells
// cost only a few hundred bytes.
const slack = 30

// probeCells sizes a table when nothing suggests a difference at all.
// Most syncs are periodic ones between peers already in sync, and a table
// of six cells (78 bytes) confirms that as surely as a large one, and
// still peels a difference of one or two keys; a larger difference gets a
// table sized by the responder's estimate in the next round.
const probeCells = 2 * K

// CellsFor is the size of a table that peels a difference of d keys with
// high probability: 1.5 cells per key, above the 1.23 that K=3 needs for
// large differences, plus slack for small ones. It reports false, and
// MaxCells, when that is more than a table may hold: the caller should
// reconcile some other way. A difference of 0 gets the smallest useful
// table, a probe.
func CellsFor(d int) (int, bool) {
	if d <= 0 {
		return probeCells, true
	}
	d = min(d, MaxCells)
	want := d + d/2 + slack
	return roundCells(want), want <= MaxCells
}

// Next is the size of the table to try after one of cells cells failed to
// peel. estimate is the peer's guess of the difference from the failed
// table (0 for unknown: every cell was occupied, so the difference is much
// larger than the table). It grows the table at least twofold, so that the
// bytes of all failed tables stay below those of the last one, and reports
// false when the table is already as large as allowed.
func Next(cells, estimate int) (int, bool) {
	if cells >= MaxCells {
		return 0, false
	}
	next := 2 * cells
	if estimate <= 0 {
		next = 4 * cells
	}
	atLeast, _ := CellsFor(estimate)
	next = max(next, atLeast)
	return roundCells(next), true
}
