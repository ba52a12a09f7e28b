package reconcile

import (
	"errors"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

// TestPaddedVarintsAreRefused checks that a Lamport delta, an item count
// and a bit field length are each refused when padded, while the same
// message written minimally is accepted.
func TestPaddedVarintsAreRefused(t *testing.T) {
	id := [32]byte{7}
	for name, c := range map[string]struct{ good, bad []byte }{
		"bound lamport": {
			good: []byte{Version, byte(modeSkip)<<6 | 0, 5},
			bad:  []byte{Version, byte(modeSkip)<<6 | 0, 0x85, 0x00},
		},
		"item count": {
			good: append([]byte{Version, byte(modeIDList)<<6 | infPrefixLen, 1, 3}, id[:]...),
			bad:  append([]byte{Version, byte(modeIDList)<<6 | infPrefixLen, 0x81, 0x00, 3}, id[:]...),
		},
	} {
		if _, err := decodeMessage(c.good, DefaultMaxMessageBytes); err != nil {
			t.Errorf("%s: the minimal form was refused: %v", name, err)
		}
		_, err := decodeMessage(c.bad, DefaultMaxMessageBytes)
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, protocol.ErrNonMinimalVarint) {
			t.Errorf("%s: want ErrMalformed and ErrNonMinimalVarint, got %v", name, err)
		}
	}
}

// TestBoundPrefixEndingInZeroIsRefused checks the other non-canonical
// form: an ID prefix padded with zero bytes, which the implied zeros after
// the prefix make redundant.
func TestBoundPrefixEndingInZeroIsRefused(t *testing.T) {
	good := []byte{Version, byte(modeSkip)<<6 | 1, 5, 0xab}
	bad := []byte{Version, byte(modeSkip)<<6 | 2, 5, 0xab, 0x00}
	if _, err := decodeMessage(good, DefaultMaxMessageBytes); err != nil {
		t.Fatalf("the short prefix was refused: %v", err)
	}
	if _, err := decodeMessage(bad, DefaultMaxMessageBytes); !errors.Is(err, ErrMalformed) {
		t.Fatalf("want ErrMalformed, got %v", err)
	}
}
