package abuse

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
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

// The thresholds of the peer score. Below GraylistThreshold gossipsub
// ignores a peer's RPCs, and sync refuses it too (OverLimit.CutOff).
const (
	gossipThreshold   = -10
	publishThreshold  = -50
	GraylistThreshold = -80
)

// PeerScoreParams scores peers; appScore adds what gossipsub cannot see
// itself (OverLimit.Score).
func PeerScoreParams(appScore func(peer.ID) float64) *pubsub.PeerScoreParams {
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

// PeerScoreThresholds are the score thresholds that go with PeerScoreParams.
func PeerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           GraylistThreshold,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 5,
	}
}

// RoomScoreParams scores peers in one room's topic.
func RoomScoreParams() *pubsub.TopicScoreParams {
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
