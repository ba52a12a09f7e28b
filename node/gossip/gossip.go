// Package gossip starts gossipsub as peerchat runs it, and holds what a
// program that adds its own gossipsub tracer needs. A relay and the
// benchmarks use it besides the node.
package gossip

import (
	"context"
	"crypto/sha256"
	"fmt"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
)

// MessageID is peerchat's gossipsub message ID: the raw 32 bytes of the
// SHA-256 of the message's data (not hex). Envelopes carry their own
// signatures, so the same envelope arriving by two paths is one message.
func MessageID(m *pb.Message) string {
	sum := sha256.Sum256(m.Data)
	return string(sum[:])
}

// New starts gossipsub tuned for chat. Gossipsub's own signing is off and
// a message is identified by MessageID. The queues are deeper than the
// defaults (32), which silently drop bursts. extra options are added last.
func New(ctx context.Context, h host.Host, extra ...pubsub.Option) (*pubsub.PubSub, error) {
	opts := []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(MessageID),
		pubsub.WithPeerOutboundQueueSize(1024),
		pubsub.WithValidateQueueSize(1024),
		pubsub.WithFloodPublish(true),
	}
	ps, err := pubsub.NewGossipSub(ctx, h, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("start gossipsub: %w", err)
	}
	return ps, nil
}
