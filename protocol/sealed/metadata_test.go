package sealed

import (
	"reflect"
	"slices"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

// TestWhatARelayCanReadIsExactlyTheListedFields names every field a relay
// reads from a sealed envelope without any key. A new field in the
// envelope, a sealed body, an epoch record or a join request fails it, so
// that whoever adds one also decides, and writes in docs/private-rooms.md
// (What stays visible), whether relays may see it.
func TestWhatARelayCanReadIsExactlyTheListedFields(t *testing.T) {
	for _, c := range []struct {
		v    any
		want []string
	}{
		{protocol.Envelope{}, []string{"Version", "Kind", "Room", "Author", "Lamport", "SentAt", "Body", "Signature"}},
		{Body{}, []string{"Epoch", "Nonce", "Ciphertext", "WriteSig"}},
		{Record{}, []string{"Reason", "Number", "ID", "Parent", "WritePub", "Salt", "Parties", "Ratchet", "Wraps", "State"}},
		{Wrap{}, []string{"KID", "Ciphertext"}},
	} {
		var got []string
		typ := reflect.TypeOf(c.v)
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i); f.IsExported() {
				got = append(got, f.Name)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: relays can read %v, listed %v", typ, got, c.want)
		}
	}
	// A join request shows its invite ID and nothing else in the clear.
	if joinHeaderSize != 1+16 {
		t.Errorf("join request clear header of %d bytes", joinHeaderSize)
	}
}
