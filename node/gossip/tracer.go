package gossip

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// NopTracer is a pubsub.RawTracer that does nothing. Embed it in a tracer
// and define only the methods it needs: gossipsub's tracer interface has
// seventeen methods and a tracer rarely wants more than two.
type NopTracer struct{}

var _ pubsub.RawTracer = NopTracer{}

func (NopTracer) AddPeer(peer.ID, protocol.ID)                         {}
func (NopTracer) RemovePeer(peer.ID)                                   {}
func (NopTracer) Join(string)                                          {}
func (NopTracer) Leave(string)                                         {}
func (NopTracer) Graft(peer.ID, string)                                {}
func (NopTracer) Prune(peer.ID, string)                                {}
func (NopTracer) ValidateMessage(*pubsub.Message)                      {}
func (NopTracer) DeliverMessage(*pubsub.Message)                       {}
func (NopTracer) RejectMessage(*pubsub.Message, string)                {}
func (NopTracer) DuplicateMessage(*pubsub.Message)                     {}
func (NopTracer) ThrottlePeer(peer.ID)                                 {}
func (NopTracer) RecvRPC(*pubsub.RPC)                                  {}
func (NopTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (NopTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (NopTracer) UndeliverableMessage(*pubsub.Message)                 {}
func (NopTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (NopTracer) OnClosedOutboundStream(peer.ID)                       {}
func (NopTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
