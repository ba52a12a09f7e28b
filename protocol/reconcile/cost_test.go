package reconcile

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// costCase builds two sets of n items that differ in diff items, half
// missing on each side, as two peers of a busy room would.
func costCase(n, diff int) (a, b []Item) {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(diff)))
	base := randomItems(rng, n)
	perm := rng.Perm(n)
	dropA := make(map[int]bool, diff/2)
	dropB := make(map[int]bool, diff-diff/2)
	for _, i := range perm[:diff/2] {
		dropA[i] = true
	}
	for _, i := range perm[diff/2 : diff] {
		dropB[i] = true
	}
	for i, it := range base {
		if !dropA[i] {
			a = append(a, it)
		}
		if !dropB[i] {
			b = append(b, it)
		}
	}
	return a, b
}

// idBytes is what one differing ID costs if sent bare: Lamport and ID.
const idBytes = 40

func TestReconcileCostGrowsWithDifference(t *testing.T) {
	const n = 100_000
	all := n * idBytes
	for _, diff := range []int{0, 10, 1000, 10000} {
		a, b := costCase(n, diff)
		s := reconcile(t, a, b, Config{}, 1000)
		checkDiff(t, s.in, a, b)
		total := s.sentBytes + s.recvBytes
		ratio := float64(total) / float64(max(diff*idBytes, 1))
		t.Logf("diff %5d: %2d round trips, %8d bytes (%d out, %d in), %.1fx the differing IDs, %.1f%% of all IDs",
			diff, s.rounds, total, s.sentBytes, s.recvBytes, ratio, 100*float64(total)/float64(all))
		if diff <= 1000 && total > all/5 {
			t.Errorf("diff %d: %d bytes is not well below the %d bytes of all IDs", diff, total, all)
		}
	}
}

func BenchmarkReconcile100k(b *testing.B) {
	for _, diff := range []int{0, 10, 1000, 10000} {
		x, y := costCase(100_000, diff)
		b.Run(fmt.Sprintf("diff%d", diff), func(b *testing.B) {
			var s session
			for b.Loop() {
				s = reconcile(b, x, y, Config{}, 1000)
			}
			b.ReportMetric(float64(s.sentBytes+s.recvBytes), "wire-bytes/op")
			b.ReportMetric(float64(s.rounds), "roundtrips/op")
		})
	}
}
