package store

import (
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

func TestOrderKeysParseTheSameFromBytesAndStrings(t *testing.T) {
	var id protocol.ID
	for i := range id {
		id[i] = byte(i * 7)
	}
	for _, lamport := range []uint64{0, 1, 0xabcdef, 1<<64 - 1} {
		k := orderKey(lamport, id)
		l1, id1, err1 := parseOrderKey(k)
		l2, id2, err2 := parseOrderKeyBytes([]byte(k))
		if err1 != nil || err2 != nil || l1 != lamport || l2 != lamport || id1 != id || id2 != id {
			t.Errorf("lamport %d: string (%d, %v, %v), bytes (%d, %v, %v)", lamport, l1, id1, err1, l2, id2, err2)
		}
	}
	for _, bad := range []string{"", "zz", orderKey(1, id)[:79], "g" + orderKey(1, id)[1:]} {
		if _, _, err := parseOrderKeyBytes([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
