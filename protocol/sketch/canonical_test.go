package sketch

import (
	"errors"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

// TestPaddedVarintsAreRefused checks the three varints of sketch
// messages: a Size's count, a Table's cell count and a cell's count.
func TestPaddedVarintsAreRefused(t *testing.T) {
	cell := []byte{0x02, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}
	table := func(cells []byte, counts ...[]byte) []byte {
		b := append([]byte{byte(KindTable)}, 9, 0, 0, 0, 0, 0, 0, 0)
		b = append(b, cells...)
		for _, c := range counts {
			b = append(b, c...)
		}
		return b
	}
	padded := append([]byte{0x82, 0x00}, cell[1:]...)
	for name, c := range map[string]struct{ good, bad []byte }{
		"size":       {good: []byte{byte(KindSize), 5}, bad: []byte{byte(KindSize), 0x85, 0x00}},
		"retry":      {good: []byte{byte(KindRetry), 0}, bad: []byte{byte(KindRetry), 0x80, 0x00}},
		"cells":      {good: table([]byte{3}, cell, cell, cell), bad: table([]byte{0x83, 0x00}, cell, cell, cell)},
		"cell count": {good: table([]byte{3}, cell, cell, cell), bad: table([]byte{3}, cell, padded, cell)},
	} {
		if _, err := Decode(c.good); err != nil {
			t.Errorf("%s: the minimal form was refused: %v", name, err)
		}
		_, err := Decode(c.bad)
		if !errors.Is(err, ErrMessage) || !errors.Is(err, protocol.ErrNonMinimalVarint) {
			t.Errorf("%s: want ErrMessage and ErrNonMinimalVarint, got %v", name, err)
		}
	}
}
