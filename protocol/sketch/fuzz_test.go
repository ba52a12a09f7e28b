package sketch

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the sketch message decoder: it must
// never panic, anything it accepts must re-encode to the same bytes (the
// encoding is canonical), and a table it
// accepts must peel (or refuse to) within its bounds.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(13, 14))
	a, b, _, _ := split(rng, 300, 5, 4)
	f.Add(EncodeTable(tableOf(5, 30, a)))
	f.Add(EncodeTable(diffTable(5, 30, a, b)))
	f.Add(EncodeSize(300))
	f.Add(EncodeRetry(12))
	f.Add(EncodeDecoded())
	f.Add([]byte{byte(KindTable), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		var again []byte
		switch m.Kind {
		case KindSize:
			again = EncodeSize(m.N)
		case KindRetry:
			again = EncodeRetry(m.N)
		case KindDecoded:
			again = EncodeDecoded()
		case KindTable:
			again = EncodeTable(m.Table)
			if m.Table.Len() > MaxCells {
				t.Fatalf("accepted %d cells", m.Table.Len())
			}
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted %x, which re-encodes as %x: the encoding is not canonical", data, again)
		}
		m2, err := Decode(again)
		if err != nil || m2.Kind != m.Kind || m2.N != m.N {
			t.Fatalf("re-encoded message decodes as %+v, %v", m2, err)
		}
		if m.Table != nil {
			if d, err := m.Table.Peel(); err == nil && len(d.Pos)+len(d.Neg) > m.Table.Len() {
				t.Fatalf("peeled %d keys from %d cells", len(d.Pos)+len(d.Neg), m.Table.Len())
			}
		}
	})
}
