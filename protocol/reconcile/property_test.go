package reconcile

import (
	"math"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"
)

// genPair draws two sets with a controlled overlap. The items themselves
// come from a seeded generator, because drawing thousands of 32-byte IDs
// one by one through rapid would be slow; rapid still chooses (and
// shrinks) the sizes, the overlap, the seed and the shape of the IDs.
func genPair(t *rapid.T) (a, b []Item) {
	common := rapid.IntRange(0, 2000).Draw(t, "common")
	onlyA := rapid.IntRange(0, 2000-common).Draw(t, "onlyA")
	onlyB := rapid.IntRange(0, 2000-common).Draw(t, "onlyB")
	seed := rapid.Uint64().Draw(t, "seed")
	// Few distinct ID bytes force long shared prefixes, and a narrow
	// Lamport range forces many items per Lamport.
	idBytes := rapid.SampledFrom([]int{2, 16, 256}).Draw(t, "idBytes")
	lamports := rapid.SampledFrom([]uint64{1, 10, 1 << 20, math.MaxUint64}).Draw(t, "lamports")

	rng := rand.New(rand.NewPCG(seed, 0))
	gen := func(n int) []Item {
		items := make([]Item, n)
		for i := range items {
			items[i].Lamport = rng.Uint64N(lamports)
			if lamports == math.MaxUint64 && rng.IntN(4) == 0 {
				items[i].Lamport = math.MaxUint64 - rng.Uint64N(2)
			}
			for j := range items[i].ID {
				items[i].ID[j] = byte(rng.IntN(idBytes))
				if idBytes == 256 && j == 8 {
					break // rest zero: exercises trailing-zero trimming
				}
			}
		}
		return items
	}
	shared := gen(common)
	a = normalize(append(gen(onlyA), shared...))
	b = normalize(append(gen(onlyB), shared...))
	return a, b
}

func TestReconcileLearnsExactDifferenceProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genPair(t)
		switch rapid.IntRange(0, 3).Draw(t, "shape") {
		case 1:
			b = a // equal sets
		case 2:
			a = nil // one side empty
		}
		n := max(len(a), len(b), 1)
		bound := int(2*math.Log(float64(n))/math.Log(16)) + 4
		s := reconcile(t, a, b, Config{}, bound)
		checkDiff(t, s.in, a, b)
	})
}

func TestReconcileWithAnyConfigProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genPair(t)
		cfg := Config{
			MaxMessageBytes: rapid.IntRange(0, 100000).Draw(t, "maxBytes"),
			BranchFactor:    rapid.IntRange(0, 40).Draw(t, "branch"),
			IDListThreshold: rapid.IntRange(0, 100).Draw(t, "threshold"),
		}
		s := reconcile(t, a, b, cfg, 20000)
		checkDiff(t, s.in, a, b)
		if limit := cfg.WithDefaults().MaxMessageBytes; s.maxFrame > limit {
			t.Fatalf("frame of %d bytes exceeds limit %d", s.maxFrame, limit)
		}
	})
}
