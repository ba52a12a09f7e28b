package reconcile

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// fuzzSets returns the two fixed sets fuzz targets reconcile against. They
// overlap partly so that valid seeds reach every mode.
func fuzzSets() (a, b []Item) {
	rng := rand.New(rand.NewPCG(42, 42))
	base := randomItems(rng, 300)
	a = normalize(append(randomItems(rng, 40), base[:250]...))
	b = normalize(append(randomItems(rng, 40), base[50:]...))
	return a, b
}

// fuzzConfig keeps frames small so that seeds also cover deferral.
var fuzzConfig = Config{MaxMessageBytes: 4096, BranchFactor: 4, IDListThreshold: 8}

// transcript returns every message of a reconciliation between a and b,
// split by direction, to seed the fuzzers with valid input.
func transcript(a, b []Item, cfg Config) (requests, replies [][]byte) {
	in := NewInitiator(a, cfg)
	msg, _ := in.Start()
	for msg != nil && len(requests) < 50 {
		requests = append(requests, msg)
		reply, err := Respond(b, msg, cfg)
		if err != nil {
			break
		}
		replies = append(replies, reply)
		if msg, err = in.Next(reply); err != nil {
			break
		}
	}
	return requests, replies
}

// addGarbage seeds a fuzzer with inputs that are wrong in typical ways.
func addGarbage(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Add([]byte{0})
	f.Add([]byte{Version, 0xff, 0, 0})
	f.Add([]byte{Version, 0xbf, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{Version, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
}

// checkOutput asserts that an accepted message produced a well-formed,
// bounded answer.
func checkOutput(t *testing.T, out []byte, cfg Config) {
	limit := cfg.WithDefaults().MaxMessageBytes
	if len(out) > limit {
		t.Fatalf("produced %d bytes, limit %d", len(out), limit)
	}
	if _, err := decodeMessage(out, limit); err != nil {
		t.Fatalf("produced a message that does not decode: %v", err)
	}
}

// checkCanonical asserts that a message the decoder accepted re-encodes to
// the same bytes: every message has exactly one encoding.
func checkCanonical(t *testing.T, msg []byte) {
	ranges, err := decodeMessage(msg, len(msg))
	if err != nil {
		return
	}
	again := []byte{Version}
	lower := minBound
	for i := range ranges {
		again = appendRange(again, lower, &ranges[i])
		lower = ranges[i].upper
	}
	if !bytes.Equal(again, msg) {
		t.Fatalf("accepted %x, which re-encodes as %x", msg, again)
	}
}

func FuzzRespond(f *testing.F) {
	a, b := fuzzSets()
	requests, _ := transcript(a, b, fuzzConfig)
	for _, m := range requests {
		f.Add(m)
	}
	addGarbage(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		checkCanonical(t, msg)
		reply, err := Respond(b, msg, fuzzConfig)
		if err == nil {
			checkOutput(t, reply, fuzzConfig)
		}
	})
}

func FuzzInitiatorNext(f *testing.F) {
	a, b := fuzzSets()
	_, replies := transcript(a, b, fuzzConfig)
	for _, m := range replies {
		f.Add(m)
	}
	addGarbage(f)
	f.Fuzz(func(t *testing.T, reply []byte) {
		checkCanonical(t, reply)
		in := NewInitiator(a, fuzzConfig)
		if _, err := in.Start(); err != nil {
			t.Fatal(err)
		}
		msg, err := in.Next(reply)
		if err == nil && msg != nil {
			checkOutput(t, msg, fuzzConfig)
		}
	})
}
