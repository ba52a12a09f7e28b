package reconcile

import (
	"math/rand/v2"
	"slices"
)

// tb is the part of testing.TB the helpers use; *rapid.T satisfies it too.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// session records one in-memory reconciliation.
type session struct {
	in        *Initiator
	rounds    int
	sentBytes int // initiator to responder
	recvBytes int // responder to initiator
	maxFrame  int
}

// reconcile runs a whole reconciliation between a and b in memory and
// fails the test on any error or when it does not end within maxRounds.
func reconcile(t tb, a, b []Item, cfg Config, maxRounds int) session {
	t.Helper()
	s := session{in: NewInitiator(a, cfg)}
	msg, err := s.in.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for msg != nil {
		s.rounds++
		if s.rounds > maxRounds {
			t.Fatalf("not done after %d rounds", maxRounds)
		}
		s.sentBytes += len(msg)
		s.maxFrame = max(s.maxFrame, len(msg))
		reply, err := Respond(b, msg, cfg)
		if err != nil {
			t.Fatalf("Respond in round %d: %v", s.rounds, err)
		}
		s.recvBytes += len(reply)
		s.maxFrame = max(s.maxFrame, len(reply))
		if msg, err = s.in.Next(reply); err != nil {
			t.Fatalf("Next in round %d: %v", s.rounds, err)
		}
	}
	if !s.in.Done() {
		t.Fatalf("Next returned nil but Done is false")
	}
	if s.in.Rounds() != s.rounds {
		t.Fatalf("Rounds() = %d, counted %d", s.in.Rounds(), s.rounds)
	}
	return s
}

// minus returns the items of a that are not in b; both must be sorted.
func minus(a, b []Item) []Item {
	var out []Item
	for _, it := range a {
		if !contains(b, it) {
			out = append(out, it)
		}
	}
	return out
}

// checkDiff asserts that the initiator learned exactly a\b and b\a.
func checkDiff(t tb, in *Initiator, a, b []Item) {
	t.Helper()
	if want, got := minus(a, b), in.Have(); !slices.Equal(want, got) {
		t.Fatalf("Have: got %d items, want %d", len(got), len(want))
	}
	if want, got := minus(b, a), in.Need(); !slices.Equal(want, got) {
		t.Fatalf("Need: got %d items, want %d", len(got), len(want))
	}
}

// randomItems returns n sorted unique items. Lamports advance slowly so that
// many items share one, which exercises bounds with ID prefixes.
func randomItems(rng *rand.Rand, n int) []Item {
	items := make([]Item, n)
	var lamport uint64
	for i := range items {
		lamport += uint64(rng.IntN(3))
		items[i].Lamport = lamport
		for j := 0; j < 32; j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				items[i].ID[j+k] = byte(v >> (8 * k))
			}
		}
	}
	return normalize(items)
}
