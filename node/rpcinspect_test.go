package node

import (
	"bytes"
	"crypto/rand"
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peerchat/peerchat/protocol"
)

func TestAnOverLimitAuthorsEnvelopesAreDroppedBeforeGossipsubQueuesThem(t *testing.T) {
	a := testNode(t, "", func(c *Config) { c.RateLimit = RateLimit{PerSecond: 0.001, Burst: 2} })
	const room = "calm"
	topic := protocol.Topic(room)
	flooderKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	honestKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	flooder, _ := peer.IDFromPrivateKey(flooderKey)
	for range 2 {
		a.limits.allow(room, flooder)
	}
	flood := signed(t, flooderKey, room, nil)
	honest := signed(t, honestKey, room, nil)
	garbage := []byte("not an envelope")
	elsewhere := signed(t, flooderKey, "other", nil) // its bucket in another room is full
	other := protocol.Topic("other")

	rpc := &pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{
		{Topic: &topic, Data: flood},
		{Topic: &topic, Data: honest},
		{Topic: &topic, Data: garbage}, // left for the validator to reject and score
		{Topic: &other, Data: elsewhere},
		{Topic: &topic, Data: flood},
	}}}
	before := testutil.ToFloat64(a.metrics.rejected.WithLabelValues("rate_limited"))
	if err := a.dropOverLimit(flooder, rpc); err != nil {
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
	if got := testutil.ToFloat64(a.metrics.rejected.WithLabelValues("rate_limited")) - before; got != 2 {
		t.Errorf("rate_limited rejections counted %v, want 2", got)
	}
}
