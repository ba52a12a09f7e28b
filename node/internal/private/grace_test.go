package private

import (
	"errors"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

func TestLateWritesIntoASupersededEpochAreRefusedAfterTheGraceWindow(t *testing.T) {
	net := newNetwork()
	alice, carol, relay := newNode(t, net, "alice"), newNode(t, net, "carol"), newNode(t, net, "relay")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	join(t, alice, carol, link)
	history := carol.send(room, `{"text":"while a member"}`)
	relay.sync()
	if err := alice.p.Remove(ctx, room, carol.id); err != nil {
		t.Fatal(err)
	}
	relay.sync()

	// Carol still holds her last epoch and keeps writing into it.
	carol.p.mu.RLock()
	old, _ := carol.p.rooms[room].ring.HeadKeys()
	carol.p.mu.RUnlock()
	write := func() *protocol.Envelope {
		e, err := carol.Publish(ctx, protocol.KindSealedMessage, room, func(h sealed.Header) ([]byte, error) {
			return sealed.Seal(old, h, []byte(`{"text":"still here"}`))
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if err := relay.p.Check(write()); err != nil {
		t.Fatalf("within the grace window: %v", err)
	}
	net.advance(DefaultGrace + time.Minute)
	err := relay.p.Check(write())
	if !errors.Is(err, ErrSuperseded) || !Ignore(err) || Reason(err) != "epoch_superseded" {
		t.Fatalf("after the grace window: %v", err)
	}
	// History of that epoch, written before its successor, stays valid.
	if err := relay.p.Check(history); err != nil {
		t.Fatalf("history of the superseded epoch: %v", err)
	}
}
