package node

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/intake"
	"github.com/peerchat/peerchat/protocol"
)

// TestAReplayedOldMessageIsCountedAndNeitherStoredAgainNorForwarded:
// gossipsub drops a message it saw in the last 2 minutes before asking the
// validator; a message already stored that a peer sends again after that
// reaches the validator, which must refuse it before storing or forwarding
// it (Ignore: gossipsub forwards only what is accepted) and count it.
func TestAReplayedOldMessageIsCountedAndNeitherStoredAgainNorForwarded(t *testing.T) {
	victim := testNode(t, "")
	mustJoin(t, "replayed", victim)
	ctx := context.Background()
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	replayerKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	replayer, err := peer.IDFromPrivateKey(replayerKey)
	if err != nil {
		t.Fatal(err)
	}
	validate := intakeOf(victim).Validator("replayed")
	deliver := func(data []byte) pubsub.ValidationResult {
		topic := "replayed"
		return validate(ctx, replayer, &pubsub.Message{Message: &pb.Message{Topic: &topic, Data: data}, ReceivedFrom: replayer})
	}

	old := signed(t, key, "replayed", nil)
	if got := deliver(old); got != pubsub.ValidationAccept {
		t.Fatalf("a new message got %v, want accept", got)
	}
	intakeOf(victim).Accept(ctx, "replayed", mustCheck(t, victim, old))
	waitFor(t, 5*time.Second, "the message stored", func() bool { return len(historyIDs(t, victim, "replayed")) == 1 })

	replays := func() float64 { return rejected(t, victim, "replay") }
	if got := deliver(old); got != pubsub.ValidationIgnore {
		t.Fatalf("the replay got %v, want ignore: neither stored nor forwarded", got)
	}
	if replays() != 1 {
		t.Fatalf("counted %v replays, want 1", replays())
	}
	if got := len(historyIDs(t, victim, "replayed")); got != 1 {
		t.Fatalf("victim holds %d messages after the replay, want 1", got)
	}
	// Replays do not spend the author's tokens: after more of them than a
	// new author's first burst (20), the author's next message passes.
	for range 50 {
		deliver(old)
	}
	next := signed(t, key, "replayed", func(e *protocol.Envelope) { e.Lamport = 2 })
	if got := deliver(next); got != pubsub.ValidationAccept {
		t.Fatalf("the author's next message after 51 replays got %v, want accept", got)
	}
	if replays() != 51 {
		t.Fatalf("counted %v replays, want 51", replays())
	}
}

func mustCheck(t *testing.T, n *Node, data []byte) *intake.Received {
	t.Helper()
	rcv, err := intakeOf(n).Check("replayed", data)
	if err != nil {
		t.Fatal(err)
	}
	return rcv
}
