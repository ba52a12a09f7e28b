package abuse

import (
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// InspectRPC removes from an incoming gossipsub RPC the envelopes whose
// author is over its rate limit in the room, before gossipsub remembers
// them as seen and queues them for validation. A flooding author's
// envelopes then cost reading their author field and never wait in, or
// lengthen, the queue honest envelopes pass through; nor do they fill the
// seen-message cache. The validator keeps its own check for envelopes that
// reach it while a bucket drains. Give it to gossipsub with
// pubsub.WithAppSpecificRpcInspector.
//
// It runs on gossipsub's event loop, so it takes no lock but the rate
// limiter's and never waits.
func (g *Guard) InspectRPC(from peer.ID, rpc *pubsub.RPC) error {
	msgs := rpc.GetPublish()
	kept := msgs[:0]
	for _, m := range msgs {
		if room, ok := protocol.RoomOfTopic(m.GetTopic()); ok {
			if raw, ok := protocol.AuthorOf(m.GetData()); ok && g.Exhausted(from, room, peer.ID(raw)) {
				continue
			}
		}
		kept = append(kept, m)
	}
	rpc.Publish = kept
	return nil
}
