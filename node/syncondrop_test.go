package node

import (
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/peerchat/peerchat/protocol"
)

// The tracer runs on gossipsub's event loop. Before it handed requests
// off, a dropped message during a periodic sync (which held the node's
// lock while asking gossipsub for the room's peers) deadlocked the node:
// the loop waited for the lock, the lock's holder for the loop. Seen with
// 300 nodes on two cores. The node has no such lock any more; this holds
// the syncer's instead, and the tracer must still return at once, and a
// sync start with the peer whose message was dropped.
func TestDropTracerNeverWaitsAndStartsASyncWithTheSender(t *testing.T) {
	a, b := pair(t, "busy")
	topic := protocol.Topic("busy")
	dropped := &pubsub.Message{Message: &pb.Message{Topic: &topic}, ReceivedFrom: b.ID()}
	tracer := dropTracerOf(a)

	before := time.Now()
	var done atomic.Bool
	unlock := lockSyncer(a)
	go func() {
		for range 10 * 64 { // more than the hand-off holds
			tracer.RejectMessage(dropped, pubsub.RejectValidationQueueFull)
		}
		done.Store(true)
	}()
	waitFor(t, 5*time.Second, "the tracer to return while the node's lock is held", done.Load)
	unlock()

	waitFor(t, 10*time.Second, "a sync started with the peer whose message was dropped", func() bool {
		for _, run := range a.Syncs() {
			if run.Initiator && run.Peer == b.ID().String() && run.StartedAt.After(before) {
				return true
			}
		}
		return false
	})
}
