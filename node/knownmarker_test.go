package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/peerchat/peerchat/protocol"
)

func TestSyncedReceiptsThatCannotMoveAMarkerAreKnownWithoutVerifying(t *testing.T) {
	a := testNode(t, "")
	const room = "marks"
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	receipt := func(lamport uint64, upTo string) []byte {
		body, _ := json.Marshal(protocol.ReceiptBody{Kind: protocol.ReceiptRead, UpTo: upTo, UpToLamport: lamport})
		return signed(t, key, room, func(e *protocol.Envelope) { e.Kind, e.Body = protocol.KindReceipt, body })
	}
	id := func(b byte) string {
		var x protocol.ID
		x[0] = b
		return x.String()
	}
	held := receipt(5, id(5))
	env, err := protocol.Decode(held)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := protocol.DecodeReceipt(env)
	signalsOf(a).OnReceipt(context.Background(), env, body)
	if !signalsOf(a).KnownMarker(room, held) {
		t.Fatal("the marker just applied is not held")
	}

	broken := receipt(3, id(3))
	broken[len(broken)-1] ^= 0xff // a known receipt is skipped whatever its signature
	for name, c := range map[string]struct {
		data  []byte
		known bool
	}{
		"the held receipt":            {held, true},
		"an older one":                {receipt(4, id(4)), true},
		"an older one, badly signed":  {broken, true},
		"a newer one":                 {receipt(6, id(6)), false},
		"a message":                   {signed(t, key, room, nil), false},
		"a receipt for another room":  {signed(t, key, "other", func(e *protocol.Envelope) { e.Kind, e.Body = protocol.KindReceipt, env.Body }), false},
		"bytes that are not envelope": {[]byte("junk"), false},
	} {
		if got := signalsOf(a).KnownMarker(room, c.data); got != c.known {
			t.Errorf("%s: known = %v, want %v", name, got, c.known)
		}
	}
}
