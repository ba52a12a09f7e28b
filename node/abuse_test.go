package node

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/peerchat/peerchat/node/internal/abuse"
)

func TestSendingBeyondTheRateLimitIsRefusedAndSendsNothing(t *testing.T) {
	n := testNode(t, "", func(c *Config) { c.RateLimit = RateLimit{PerSecond: 0.001, Burst: 5} })
	mustJoin(t, "busy", n)
	for i := range 5 {
		if _, _, err := n.Send(context.Background(), "busy", "within", ""); err != nil {
			t.Fatalf("send %d of a burst of 5: %v", i+1, err)
		}
	}
	_, _, err := n.Send(context.Background(), "busy", "beyond", "")
	var ne *Error
	if !errors.As(err, &ne) || ne.Code != CodeRateLimited {
		t.Fatalf("sixth send: %v, want a %s error", err, CodeRateLimited)
	}
	if got := len(historyIDs(t, n, "busy")); got != 5 {
		t.Fatalf("history holds %d messages, want the 5 accepted", got)
	}
}

func TestAFlooderCutOffFromGossipIsCutOffFromSyncToo(t *testing.T) {
	const room = "backdoor"
	victim := testNode(t, "")
	// The flooder is a peerchat node whose own limit lets its user post
	// as fast as it likes; the victim keeps the default limit.
	flooder := testNode(t, "", bootstrapFrom(victim), func(c *Config) {
		c.RateLimit = RateLimit{PerSecond: 1e6, Burst: 1 << 20, FirstBurst: 1 << 20}
	})
	mustJoin(t, room, victim, flooder)
	waitFor(t, 10*time.Second, "the two in the room", func() bool {
		return roomPeers(victim, room) == 1 && roomPeers(flooder, room) == 1
	})
	for i := range 1500 {
		mustSend(t, flooder, room, fmt.Sprintf("flood %d", i))
	}
	waitFor(t, 10*time.Second, "the flooder cut off", func() bool { return cutOff(victim, flooder.ID()) })
	if cutOff(victim, victim.ID()) {
		t.Fatal("the victim cut itself off")
	}
	// Let what gossip admitted settle, then neither side's sync may bring
	// in the rest.
	var held, steady int
	waitFor(t, 20*time.Second, "the victim's history to stay the same for half a second", func() bool {
		n := len(historyIDs(t, victim, room))
		if n != held {
			held, steady = n, 0
		}
		steady++
		return steady >= 50 && n > 0
	})
	if err := syncWith(context.Background(), victim, room, flooder.ID()); !errors.Is(err, abuse.ErrCutOff) {
		t.Fatalf("the victim's sync with the flooder: %v, want %v", err, abuse.ErrCutOff)
	}
	if err := syncWith(context.Background(), flooder, room, victim.ID()); err == nil {
		t.Fatal("the victim served a sync to the flooder it cut off")
	}
	if got := len(historyIDs(t, victim, room)); got != held {
		t.Fatalf("the victim's history grew from %d to %d after cutting the flooder off", held, got)
	}
	if held >= 1500 {
		t.Fatalf("the victim holds all %d of the flood", held)
	}
	t.Logf("the victim holds %d of the 1,500 flooded messages", held)
}
