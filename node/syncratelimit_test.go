package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// TestSyncTakesAnHonestBacklogWholeAndOnlyARatesWorthOfARelayedFlood: a
// node that enforces no limits holds a flood (1,000 messages signed within
// one second) and an honest author's backlog (600 messages at 40 a
// second). A node syncing from it stores the whole backlog, far more than
// a burst, and of the flood what gossip would have let through.
func TestSyncTakesAnHonestBacklogWholeAndOnlyARatesWorthOfARelayedFlood(t *testing.T) {
	ctx := context.Background()
	once := WithSyncInterval(time.Hour) // count one run
	relay := testNode(t, "", once)
	mustJoin(t, "backlog", relay)
	honest, flooder := genKey(t), genKey(t)
	start := time.Now().Add(-time.Minute)
	lamport := uint64(0)
	put := func(k crypto.PrivKey, sentAt time.Time, text string) {
		lamport++
		body, _ := json.Marshal(protocol.MessageBody{Text: text})
		env := &protocol.Envelope{Kind: protocol.KindMessage, Room: "backlog", Lamport: lamport, SentAt: sentAt, Body: body}
		if err := env.Sign(k); err != nil {
			t.Fatal(err)
		}
		m, err := protocol.MessageFromEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := storeOf(relay).AddMessage(ctx, env, m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 600 {
		put(honest, start.Add(time.Duration(i)*25*time.Millisecond), fmt.Sprint("honest ", i))
	}
	for i := range 1000 {
		put(flooder, start.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("flood ", i))
	}
	honestID, err := peer.IDFromPrivateKey(honest)
	if err != nil {
		t.Fatal(err)
	}

	a := testNode(t, "", once, bootstrapFrom(relay))
	mustJoin(t, "backlog", a)
	dropped := func() float64 { return rejected(t, a, "sync_over_rate") }
	waitFor(t, 30*time.Second, "the sync to end", func() bool {
		for _, r := range a.Syncs() {
			if r.State != "running" {
				return true
			}
		}
		return false
	})
	var flood, total int
	waitFor(t, 10*time.Second, "the whole honest backlog to be stored", func() bool {
		n, err := storeOf(a).CountAfter(ctx, "backlog", nil, honestID)
		flood, total = n, len(historyIDs(t, a, "backlog"))
		return err == nil && total == 600+n
	})
	if runs := a.Syncs(); len(runs) != 1 || runs[0].State != "done" {
		t.Fatalf("sync runs %+v, want one done", runs)
	}
	if flood < 250 || flood > 301 {
		t.Fatalf("stored %d of the 1,000 flooded messages, want the 250 of a bucket and 50 over its one second", flood)
	}
	if got := dropped(); int(got) != 1000-flood {
		t.Fatalf("counted %v dropped as sync_over_rate, want %d", got, 1000-flood)
	}
}

func genKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
