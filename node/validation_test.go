package node

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/gossip"
	"github.com/peerchat/peerchat/protocol"
)

// signed returns an envelope for room signed by key, with mutate applied
// before signing.
func signed(t *testing.T, key crypto.PrivKey, room string, mutate func(*protocol.Envelope)) []byte {
	t.Helper()
	env := &protocol.Envelope{Kind: protocol.KindMessage, Room: room, Lamport: 1, SentAt: time.Now(), Body: []byte(`{"text":"x"}`)}
	if mutate != nil {
		mutate(env)
	}
	if err := env.Sign(key); err != nil {
		t.Fatal(err)
	}
	return env.Bytes()
}

func TestForgedOrCorruptEnvelopesFromAPeerAreDroppedAndCounted(t *testing.T) {
	victim := testNode(t, "")
	mustJoin(t, "guarded", victim)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The attackers are bare libp2p hosts speaking gossipsub with
	// peerchat's settings, so their envelopes reach the victim's validator.
	// Each forgery comes from its own host: peer scoring graylists a host
	// after a few invalid envelopes and then ignores it unread, which would
	// hide the later forgeries from the counters this test reads.
	key, _, topic := hostilePeer(t, ctx, "guarded", victim)
	waitFor(t, 10*time.Second, "victim and attacker to see each other in the topic", func() bool {
		return roomPeers(victim, "guarded") == 1 && len(topic.ListPeers()) == 1
	})

	good := signed(t, key, "guarded", nil)
	if err := topic.Publish(ctx, good); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the valid envelope to be stored", func() bool { return len(historyIDs(t, victim, "guarded")) == 1 })

	badSig := slices.Clone(good)
	badSig[len(badSig)-1] ^= 0xff
	flipped := signed(t, key, "guarded", func(e *protocol.Envelope) { e.Lamport = 2 })
	flipped[5] ^= 0x01 // a byte inside the signed part
	forged := map[string][]byte{
		"signature":  badSig,
		"corrupted":  flipped,
		"wrong_room": signed(t, key, "elsewhere", nil),
		"future":     signed(t, key, "guarded", func(e *protocol.Envelope) { e.SentAt = time.Now().Add(time.Hour) }),
		"malformed":  []byte("not an envelope"),
		"bad_body":   signed(t, key, "guarded", func(e *protocol.Envelope) { e.Body = []byte("{") }),
	}
	attackers := 1
	for name, data := range forged {
		_, _, from := hostilePeer(t, ctx, "guarded", victim)
		attackers++
		// Both sides must know the other is in the topic: gossipsub
		// publishes only to peers it knows to be subscribed.
		waitFor(t, 10*time.Second, "victim and attacker "+name+" to see each other in the topic", func() bool {
			return roomPeers(victim, "guarded") == attackers && len(from.ListPeers()) == 1
		})
		if err := from.Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "every forgery to be counted", func() bool {
		total := 0.0
		for _, r := range []string{"signature", "wrong_room", "future", "malformed", "kind", "version", "too_large"} {
			total += rejected(t, victim, r)
		}
		return total == float64(len(forged))
	})
	for _, reason := range []string{"signature", "wrong_room", "future"} {
		if rejected(t, victim, reason) < 1 {
			t.Errorf("no rejection counted for reason %s", reason)
		}
	}
	if got := len(historyIDs(t, victim, "guarded")); got != 1 {
		t.Fatalf("%d messages stored, want only the valid one", got)
	}
}

func TestAFloodingAuthorIsCutToItsRateLimit(t *testing.T) {
	victim := testNode(t, "", func(c *Config) { c.RateLimit = RateLimit{PerSecond: 1, Burst: 10} })
	mustJoin(t, "flood", victim)
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	h, err := bareHost(key, []string{"/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ps, _ := gossip.New(ctx, h)
	topic, _ := ps.Join(protocol.Topic("flood"))
	topic.Subscribe()
	if err := h.Connect(ctx, peer.AddrInfo{ID: victim.ID(), Addrs: victim.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "flooder in the topic", func() bool { return roomPeers(victim, "flood") == 1 })
	for i := 0; i < 100; i++ {
		data := signed(t, key, "flood", func(e *protocol.Envelope) { e.Lamport = uint64(i + 1) })
		if err := topic.Publish(ctx, data); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the flood to be judged", func() bool {
		return rejected(t, victim, "rate_limited") >= 85
	})
	if got := len(historyIDs(t, victim, "flood")); got > 15 || got < 10 {
		t.Fatalf("%d of 100 flooded messages stored, want about the burst of 10", got)
	}
}
