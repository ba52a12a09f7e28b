package reconcile

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestIdenticalSetsFinishInOneRoundTripWithFewBytes(t *testing.T) {
	items := randomItems(rand.New(rand.NewPCG(1, 2)), 10000)
	s := reconcile(t, items, items, Config{}, 10)
	if s.rounds != 1 {
		t.Fatalf("rounds = %d, want 1", s.rounds)
	}
	if total := s.sentBytes + s.recvBytes; total > 32 {
		t.Fatalf("exchanged %d bytes, want at most 32", total)
	}
	if len(s.in.Have()) != 0 || len(s.in.Need()) != 0 {
		t.Fatalf("identical sets reported a difference")
	}
}

func TestEmptySetsFinishInOneRoundTrip(t *testing.T) {
	s := reconcile(t, nil, nil, Config{}, 10)
	if s.rounds != 1 {
		t.Fatalf("rounds = %d, want 1", s.rounds)
	}
}

func TestUnsortedInputIsSortedWithoutTouchingCallerSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := randomItems(rng, 300)
	b := randomItems(rng, 300)
	shuffled := append([]Item(nil), a...)
	shuffled = append(shuffled, a[:10]...) // duplicates
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	orig := append([]Item(nil), shuffled...)
	s := reconcile(t, shuffled, b, Config{}, 20)
	checkDiff(t, s.in, a, b)
	for i := range orig {
		if orig[i] != shuffled[i] {
			t.Fatalf("caller's slice was modified")
		}
	}
}

func TestSeparatorIsShortestSplittingBound(t *testing.T) {
	var prev, next Item
	prev.Lamport, next.Lamport = 7, 7
	prev.ID[0], next.ID[0] = 0xaa, 0xaa
	prev.ID[1], next.ID[1] = 0x10, 0x20
	next.ID[2] = 0x99
	b := separator(prev, next)
	if b.prefixLen() != 2 {
		t.Fatalf("prefix length = %d, want 2", b.prefixLen())
	}
	if prev.Compare(b.item) >= 0 || b.item.Compare(next) > 0 {
		t.Fatalf("bound does not separate the items")
	}
	next.Lamport = 9
	if b := separator(prev, next); b.prefixLen() != 0 || b.item.Lamport != 9 {
		t.Fatalf("different Lamports should need no ID bytes, got %+v", b)
	}
}

func TestMessagesNeverExceedMaxMessageBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	base := randomItems(rng, 5000)
	a := normalize(append(randomItems(rng, 300), base[:4000]...))
	b := normalize(append(randomItems(rng, 300), base[1000:]...))
	for _, limit := range []int{1, 2000, 4096, 10000, 50000} {
		cfg := Config{MaxMessageBytes: limit}
		eff := cfg.WithDefaults().MaxMessageBytes
		s := reconcile(t, a, b, cfg, 5000)
		checkDiff(t, s.in, a, b)
		if s.maxFrame > eff {
			t.Fatalf("limit %d (effective %d): frame of %d bytes", limit, eff, s.maxFrame)
		}
		t.Logf("limit %d (effective %d): %d rounds, largest frame %d", limit, eff, s.rounds, s.maxFrame)
	}
}

func TestResponderListReplyFallsBackToSplitWhenTooLarge(t *testing.T) {
	// The initiator holds a handful of items; the responder holds many
	// more in the same range than one frame can carry, so listing them
	// all in an IDListReply is impossible and the range must be split.
	rng := rand.New(rand.NewPCG(7, 8))
	b := randomItems(rng, 5000)
	a := b[:3]
	cfg := Config{MaxMessageBytes: 8192}
	s := reconcile(t, a, b, cfg, 1000)
	checkDiff(t, s.in, a, b)
	if s.maxFrame > cfg.WithDefaults().MaxMessageBytes {
		t.Fatalf("frame of %d bytes", s.maxFrame)
	}
}

func TestHostileMessagesAreRejectedWithoutPanic(t *testing.T) {
	items := randomItems(rand.New(rand.NewPCG(9, 10)), 100)
	valid, _ := NewInitiator(items, Config{}).Start()
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"unknown version", []byte{2, 0x7f}, ErrVersion},
		{"prefix too long", []byte{Version, 33}, ErrMalformed},
		{"truncated varint", []byte{Version, 0x40, 0x80}, ErrMalformed},
		{"truncated fingerprint", valid[:len(valid)-1], ErrMalformed},
		{"range after infinity", append(bytes.Clone(valid), 0x3f), ErrMalformed},
		{"bounds not ascending", []byte{Version, 0x00, 5, 0x00, 0}, ErrMalformed},
		{"zero-width first range", []byte{Version, 0x00, 0}, ErrMalformed},
		{"lamport overflow", []byte{Version, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 1}, ErrMalformed},
		{"huge item count", []byte{Version, 0xbf, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrMalformed},
		{"item above range", append([]byte{Version, 0x80, 1, 1, 5}, make([]byte, 32)...), ErrMalformed},
		{"reply to responder", []byte{Version, 0xff, 0, 0}, ErrMalformed},
		{"too large", make([]byte, DefaultMaxMessageBytes+1), ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Respond(items, c.msg, Config{}); !errors.Is(err, c.want) {
				t.Fatalf("Respond: got %v, want %v", err, c.want)
			}
		})
	}
}

func TestInitiatorRejectsBadRepliesAndKeepsState(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a, b := randomItems(rng, 10), randomItems(rng, 10)
	in := NewInitiator(a, Config{})
	if _, err := in.Next([]byte{Version}); !errors.Is(err, ErrState) {
		t.Fatalf("Next before Start: got %v, want ErrState", err)
	}
	msg, _ := in.Start()
	if _, err := in.Start(); !errors.Is(err, ErrState) {
		t.Fatalf("second Start: got %v, want ErrState", err)
	}
	// A reply whose bit field does not match our list is refused.
	bad := []byte{Version, 0xff, 0, 0}
	if _, err := in.Next(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad bit field: got %v, want ErrMalformed", err)
	}
	// The session still works after the rejected reply.
	for msg != nil {
		reply, err := Respond(b, msg, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if msg, err = in.Next(reply); err != nil {
			t.Fatal(err)
		}
	}
	checkDiff(t, in, a, b)
	if _, err := in.Next([]byte{Version}); !errors.Is(err, ErrState) {
		t.Fatalf("Next after done: got %v, want ErrState", err)
	}
}

func TestRandomGarbageNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	items := randomItems(rng, 200)
	for range 5000 {
		msg := make([]byte, rng.IntN(200))
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		if len(msg) > 0 {
			msg[0] = Version
		}
		_, _ = Respond(items, msg, Config{})
		in := NewInitiator(items, Config{})
		_, _ = in.Start()
		_, _ = in.Next(msg)
	}
}
