package roomsync

import (
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// The tracer runs on gossipsub's event loop. Before it handed requests
// off, a dropped message during a periodic sync (which held the node's
// lock while asking gossipsub for the room's peers) deadlocked the node:
// the loop waited for the lock, the lock's holder for the loop. Seen with
// 300 nodes on two cores. It now shares no lock with anyone; it must not
// wait either when nobody takes the requests.
func TestTheDropTracerNeverWaitsWhenNobodyTakesItsRequests(t *testing.T) {
	d := NewDrops()
	tracer := d.Tracer()
	topic := protocol.Topic("busy")
	from := peer.ID("sender")
	dropped := &pubsub.Message{Message: &pb.Message{Topic: &topic}, ReceivedFrom: from}

	var done atomic.Bool
	go func() {
		for range 10 * cap(d.ch) { // more than the hand-off holds
			tracer.RejectMessage(dropped, pubsub.RejectValidationQueueFull)
		}
		done.Store(true)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !done.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the tracer blocked on a full hand-off")
		}
		time.Sleep(time.Millisecond)
	}
	if got := len(d.ch); got != cap(d.ch) {
		t.Fatalf("%d requests handed off, want the %d the hand-off holds", got, cap(d.ch))
	}
	if k := <-d.ch; k.room != "busy" || k.peer != from {
		t.Fatalf("request for %v, want room busy with the sender", k)
	}
}

func TestTheDropTracerAsksOnlyForMessagesGossipsubDroppedUnread(t *testing.T) {
	d := NewDrops()
	topic := protocol.Topic("room")
	m := &pubsub.Message{Message: &pb.Message{Topic: &topic}, ReceivedFrom: peer.ID("p")}
	d.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
	d.Tracer().RejectMessage(m, pubsub.RejectValidationThrottled)
	if got := len(d.ch); got != 1 {
		t.Fatalf("%d requests, want 1: a message that failed validation is no reason to sync", got)
	}
}
