package sketch

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMessagesSurviveEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a, b, _, _ := split(rng, 500, 7, 9)
	diff := diffTable(42, 60, a, b)
	for _, tb := range []*Table{tableOf(42, 60, a), diff, New(1, 3)} {
		m, err := Decode(EncodeTable(tb))
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind != KindTable || m.Table.Seed() != tb.Seed() || !slices.Equal(m.Table.cells, tb.cells) {
			t.Fatalf("table %v came back as %+v", tb, m)
		}
	}
	for _, c := range []struct {
		b    []byte
		kind Kind
		n    uint64
	}{{EncodeSize(100000), KindSize, 100000}, {EncodeRetry(0), KindRetry, 0}, {EncodeRetry(1 << 40), KindRetry, 1 << 40}, {EncodeDecoded(), KindDecoded, 0}} {
		m, err := Decode(c.b)
		if err != nil || m.Kind != c.kind || m.N != c.n {
			t.Fatalf("%x decoded as %+v, %v", c.b, m, err)
		}
	}
}

func TestMalformedMessagesAreRejectedWithoutAllocating(t *testing.T) {
	table := EncodeTable(New(7, 6))
	for name, b := range map[string][]byte{
		"empty":               {},
		"unknown kind":        {9},
		"size without number": {byte(KindSize)},
		"size with trailing":  append(EncodeSize(5), 0),
		"decoded with bytes":  {byte(KindDecoded), 0},
		"table without seed":  {byte(KindTable), 1, 2},
		"table of 0 cells":    {byte(KindTable), 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"cells not multiple":  {byte(KindTable), 0, 0, 0, 0, 0, 0, 0, 0, 4},
		"huge cell count":     {byte(KindTable), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"truncated":           table[:len(table)-1],
		"trailing":            append(table, 0),
		"huge count":          append(append(append([]byte{byte(KindTable)}, make([]byte, 8)...), 3), append([]byte{0xff, 0xff, 0xff, 0xff, 0x7f}, make([]byte, 3*12+2)...)...),
	} {
		if _, err := Decode(b); !errors.Is(err, ErrMessage) {
			t.Errorf("%s: want ErrMessage, got %v", name, err)
		}
	}
}
