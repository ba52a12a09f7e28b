package node

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerchat/peerchat/protocol"
)

// Peer scoring for chat rooms. Rooms are quiet most of the time, so
// nothing punishes a peer for delivering few messages (mesh delivery
// penalties are off); what is punished hard is delivering invalid
// envelopes, which no honest peer forwards because it validates them too.
// A peer that forwards a handful of forgeries falls below the graylist
// threshold and is ignored; the penalty decays over an hour.
//
// IP colocation is not penalised: on a LAN behind one NAT, or on one
// machine, many honest peers share an address.

const (
	gossipThreshold   = -10
	publishThreshold  = -50
	graylistThreshold = -80
)

// peerScoreParams scores peers; appScore adds what gossipsub cannot see
// itself (see overlimit.go).
func peerScoreParams(appScore func(peer.ID) float64) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics:                 map[string]*pubsub.TopicScoreParams{},
		AppSpecificScore:       appScore,
		AppSpecificWeight:      1,
		BehaviourPenaltyWeight: -1,
		BehaviourPenaltyDecay:  pubsub.ScoreParameterDecay(10 * time.Minute),
		DecayInterval:          time.Second,
		DecayToZero:            0.01,
		RetainScore:            10 * time.Minute,
	}
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           graylistThreshold,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 5,
	}
}

// roomScoreParams scores peers in one room's topic.
func roomScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight:                    1,
		TimeInMeshWeight:               0.01,
		TimeInMeshQuantum:              time.Second,
		TimeInMeshCap:                  300,
		FirstMessageDeliveriesWeight:   0.5,
		FirstMessageDeliveriesDecay:    pubsub.ScoreParameterDecay(10 * time.Minute),
		FirstMessageDeliveriesCap:      20,
		InvalidMessageDeliveriesWeight: -20,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
	}
}

// syncOnDrop is a gossipsub tracer that notices messages gossipsub dropped
// without looking at them (queues full, validation throttled) and asks for
// a sync with the peer that sent them, so a burst that overflowed a queue
// is made whole in moments rather than at the next periodic sync.
//
// It runs on gossipsub's event loop, which must never wait: code holding
// the node's lock may itself be waiting on that loop (ListPeers). So it
// only hands the request to the node's sync goroutine, and drops it when
// that goroutine is behind; the periodic sync covers a dropped request.
type syncOnDrop struct {
	dropped chan<- syncKey
}

func (t syncOnDrop) RejectMessage(m *pubsub.Message, reason string) {
	if reason != pubsub.RejectValidationQueueFull && reason != pubsub.RejectValidationThrottled {
		return
	}
	if room, ok := protocol.RoomOfTopic(m.GetTopic()); ok {
		select {
		case t.dropped <- syncKey{room, m.ReceivedFrom}:
		default:
		}
	}
}

func (syncOnDrop) AddPeer(peer.ID, libp2pprotocol.ID)                   {}
func (syncOnDrop) RemovePeer(peer.ID)                                   {}
func (syncOnDrop) Join(string)                                          {}
func (syncOnDrop) Leave(string)                                         {}
func (syncOnDrop) Graft(peer.ID, string)                                {}
func (syncOnDrop) Prune(peer.ID, string)                                {}
func (syncOnDrop) ValidateMessage(*pubsub.Message)                      {}
func (syncOnDrop) DeliverMessage(*pubsub.Message)                       {}
func (syncOnDrop) DuplicateMessage(*pubsub.Message)                     {}
func (syncOnDrop) ThrottlePeer(peer.ID)                                 {}
func (syncOnDrop) RecvRPC(*pubsub.RPC)                                  {}
func (syncOnDrop) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (syncOnDrop) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (syncOnDrop) UndeliverableMessage(*pubsub.Message)                 {}
func (syncOnDrop) OnNewOutboundStream(peer.ID, libp2pprotocol.ID)       {}
func (syncOnDrop) OnClosedOutboundStream(peer.ID)                       {}
func (syncOnDrop) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}

var _ pubsub.RawTracer = syncOnDrop{}
