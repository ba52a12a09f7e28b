package node

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/peerchat/peerchat/node/internal/signals"
	"github.com/peerchat/peerchat/protocol"
)

// announcer is a bare gossipsub peer in a room that sends signed presence
// announcements claiming a room size.
type announcer struct {
	key   crypto.PrivKey
	topic *pubsub.Topic
}

func (p announcer) announce(t *testing.T, ctx context.Context, room string, size int) {
	t.Helper()
	body, _ := json.Marshal(protocol.PresenceBody{Name: "p", Status: protocol.StatusOnline, LeaseMS: 60_000, RoomSize: size})
	env := signed(t, p.key, room, func(e *protocol.Envelope) { e.Kind, e.Body = protocol.KindPresence, body })
	if err := p.topic.Publish(ctx, env); err != nil {
		t.Fatal(err)
	}
}

// lonelyNode starts a node in room with no peer, and a context that ends
// with the test.
func lonelyNode(t *testing.T, room string) (*Node, context.Context) {
	a := testNode(t, "")
	mustJoin(t, room, a)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return a, ctx
}

func TestAnnouncedRoomSizesCorrectANewcomerWithinACapAndABoasterIsOutvoted(t *testing.T) {
	const room = "big"
	a, ctx := lonelyNode(t, room)
	peers := make([]announcer, 3)
	for i := range peers {
		key, _, topic := hostilePeer(t, ctx, room, a)
		peers[i] = announcer{key, topic}
	}
	waitFor(t, 10*time.Second, "the node to see its three peers in the topic", func() bool { return roomPeers(a, room) == 3 })

	// The node counts 3 peers and itself: 4. The peers say 300, which it
	// believes up to 8 times its own count.
	for _, p := range peers {
		p.announce(t, ctx, room, 300)
	}
	waitFor(t, 10*time.Second, "the estimate to take the announced size, capped", func() bool { return signalsOf(a).RoomSize(room) == 8*4 })
	if every, _ := signals.PresencePeriod(signalsOf(a).RoomSize(room)); every != 2*signals.PresenceEvery {
		t.Errorf("presence renewal in a room of 32 = %v, want %v", every, 2*signals.PresenceEvery)
	}

	// One peer boasting a huge room against two that say 2 changes
	// nothing: the median is 2 and the node's own count, 4, wins.
	for i, size := range []int{2, 2, 1_000_000} {
		peers[i].announce(t, ctx, room, size)
	}
	waitFor(t, 10*time.Second, "the boaster to be outvoted", func() bool { return signalsOf(a).RoomSize(room) == 4 })
}

func TestPresenceCarriesTheNodesRoomSizeEstimate(t *testing.T) {
	const room = "counted"
	a, ctx := lonelyNode(t, room)
	_, _, topic := hostilePeer(t, ctx, room, a)
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the node to see its peer in the topic", func() bool { return roomPeers(a, room) == 1 })
	if err := a.SetPresence(ctx, protocol.StatusAway); err != nil { // announces at once
		t.Fatal(err)
	}
	readCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	for {
		msg, err := sub.Next(readCtx)
		if err != nil {
			t.Fatalf("no presence from the node: %v", err)
		}
		env, err := protocol.Decode(msg.Data)
		if err != nil || env.Kind != protocol.KindPresence {
			continue
		}
		body, err := protocol.DecodePresence(env)
		if err != nil {
			t.Fatal(err)
		}
		if body.Status != protocol.StatusAway {
			continue
		}
		if body.RoomSize != 2 {
			t.Fatalf("room_size = %d, want 2 (the node and its peer)", body.RoomSize)
		}
		return
	}
}
