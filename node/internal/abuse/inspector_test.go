package abuse

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// signed returns an envelope for room signed by key.
func signed(t *testing.T, key crypto.PrivKey, room string) []byte {
	t.Helper()
	env := &protocol.Envelope{Kind: protocol.KindMessage, Room: room, Lamport: 1, SentAt: time.Now(), Body: []byte(`{"text":"x"}`)}
	if err := env.Sign(key); err != nil {
		t.Fatal(err)
	}
	return env.Bytes()
}

func TestAnOverLimitAuthorsEnvelopesAreDroppedBeforeGossipsubQueuesThem(t *testing.T) {
	rejected := map[string]int{}
	g := NewGuard(RateLimit{PerSecond: 0.001, Burst: 2}, func(reason string) { rejected[reason]++ }, func(string, peer.ID) {})
	const room = "calm"
	topic := protocol.Topic(room)
	flooderKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	honestKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	flooder, _ := peer.IDFromPrivateKey(flooderKey)
	for range 2 {
		g.Take(flooder, room, flooder)
	}
	flood := signed(t, flooderKey, room)
	honest := signed(t, honestKey, room)
	garbage := []byte("not an envelope")
	elsewhere := signed(t, flooderKey, "other") // its bucket in another room is full
	other := protocol.Topic("other")

	rpc := &pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{
		{Topic: &topic, Data: flood},
		{Topic: &topic, Data: honest},
		{Topic: &topic, Data: garbage}, // left for the validator to reject and score
		{Topic: &other, Data: elsewhere},
		{Topic: &topic, Data: flood},
	}}}
	if err := g.InspectRPC(flooder, rpc); err != nil {
		t.Fatal(err)
	}
	var kept [][]byte
	for _, m := range rpc.GetPublish() {
		kept = append(kept, m.GetData())
	}
	want := [][]byte{honest, garbage, elsewhere}
	if len(kept) != len(want) {
		t.Fatalf("kept %d envelopes, want %d (the honest one, the garbage, the other room's)", len(kept), len(want))
	}
	for i := range want {
		if !bytes.Equal(kept[i], want[i]) {
			t.Errorf("kept[%d] is not the expected envelope", i)
		}
	}
	if got := rejected["rate_limited"]; got != 2 {
		t.Errorf("rate_limited rejections counted %v, want 2", got)
	}
}
