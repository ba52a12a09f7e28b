package sketch

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPeelRecoversBothDirectionsOfTheDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ shared, onlyA, onlyB int }{
		{1000, 0, 0}, {1000, 1, 0}, {1000, 0, 1}, {5000, 30, 20}, {100000, 500, 500}, {0, 200, 0},
	} {
		a, b, wantPos, wantNeg := split(rng, c.shared, c.onlyA, c.onlyB)
		d, err := diffTable(rng.Uint64(), mustCells(t, c.onlyA+c.onlyB), a, b).Peel()
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !slices.Equal(sorted(d.Pos), sorted(wantPos)) || !slices.Equal(sorted(d.Neg), sorted(wantNeg)) {
			t.Fatalf("%+v: peeled %d/%d keys, want %d/%d", c, len(d.Pos), len(d.Neg), len(wantPos), len(wantNeg))
		}
	}
}

func TestPeelOfATooSmallTableFailsInsteadOfAnsweringWrong(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	failures := 0
	for trial := 0; trial < 200; trial++ {
		a, b, wantPos, wantNeg := split(rng, 2000, 40+rng.IntN(40), rng.IntN(40))
		d, err := diffTable(rng.Uint64(), 30, a, b).Peel()
		if errors.Is(err, ErrUndecodable) {
			failures++
			if d.Pos != nil || d.Neg != nil {
				t.Fatal("a failed peel returned keys")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sorted(d.Pos), sorted(wantPos)) || !slices.Equal(sorted(d.Neg), sorted(wantNeg)) {
			t.Fatalf("trial %d: a peel that succeeded is wrong", trial)
		}
	}
	if failures < 190 {
		t.Fatalf("only %d of 200 overfull tables failed to peel", failures)
	}
}

func TestFirstTableSizePeelsSmallAndLargeDifferencesMostOfTheTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, d := range []int{1, 3, 10, 30, 100, 1000} {
		fails := 0
		const trials = 200
		for trial := 0; trial < trials; trial++ {
			keys := randomKeys(rng, d)
			if _, err := tableOf(rng.Uint64(), mustCells(t, d), keys).Peel(); err != nil {
				fails++
			}
		}
		// A failure costs one more table of twice the size, so a few
		// percent is cheap; more would make most syncs pay twice.
		if fails > trials/20 {
			t.Errorf("difference of %d: %d of %d first tables failed to peel", d, fails, trials)
		}
	}
}

func TestKeysHeldTwiceOnOneSideDoNotPeelAsOneKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	keys := randomKeys(rng, 100)
	// Two items of a share one key, and b holds neither of them.
	a := append(slices.Clone(keys), keys[0])
	d, err := diffTable(9, 90, a, keys[1:]).Peel()
	if err == nil && (len(d.Pos) != 0 || len(d.Neg) != 0) {
		t.Fatalf("a doubled key peeled as %v/%v", d.Pos, d.Neg)
	}
	if !errors.Is(err, ErrUndecodable) {
		t.Fatalf("want ErrUndecodable, got %v", err)
	}
	// When b holds one of them, the key peels once: the caller maps it
	// back to every item that has it.
	d, err = diffTable(9, 90, a, keys).Peel()
	if err != nil || !slices.Equal(d.Pos, keys[:1]) || len(d.Neg) != 0 {
		t.Fatalf("one of two colliding items: %v, %v", d, err)
	}
}

func TestTablesOfDifferentShapesDoNotSubtract(t *testing.T) {
	if err := New(1, 30).Subtract(New(2, 30)); !errors.Is(err, ErrMismatch) {
		t.Fatalf("different seeds: %v", err)
	}
	if err := New(1, 30).Subtract(New(1, 60)); !errors.Is(err, ErrMismatch) {
		t.Fatalf("different sizes: %v", err)
	}
}

func TestKeysDependOnTheSeed(t *testing.T) {
	id := [32]byte{1, 2, 3}
	if Key(1, id) == Key(2, id) {
		t.Fatal("the same key under two seeds")
	}
	if Key(1, id) != Key(1, id) {
		t.Fatal("Key is not deterministic")
	}
}

func TestEstimateIsCloseToTheDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, d := range []int{100, 1000, 10000} {
		est := tableOf(rng.Uint64(), 3*d, randomKeys(rng, d)).Estimate()
		if est < d*3/4 || est > d*5/4 {
			t.Errorf("difference of %d estimated as %d", d, est)
		}
	}
	if est := tableOf(1, 30, randomKeys(rng, 10000)).Estimate(); est != 0 {
		t.Errorf("a saturated table estimated %d, want 0 (unknown)", est)
	}
}

func TestNextGrowsAtLeastTwofoldAndStopsAtTheCap(t *testing.T) {
	cells, _ := CellsFor(0)
	for steps := 0; ; steps++ {
		next, ok := Next(cells, 0)
		if !ok {
			break
		}
		if next < 2*cells && next != MaxCells {
			t.Fatalf("grew %d to %d", cells, next)
		}
		if steps > 20 {
			t.Fatal("Next never reached the cap")
		}
		cells = next
	}
	if cells != MaxCells {
		t.Fatalf("stopped at %d cells, cap %d", cells, MaxCells)
	}
	if _, ok := CellsFor(MaxCells); ok {
		t.Fatal("a difference of MaxCells keys fits a table")
	}
	if next, _ := Next(60, 1<<40); next != MaxCells {
		t.Fatalf("a huge estimate gave %d cells", next)
	}
}
