package roomsync

import (
	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/peerchat/peerchat/node/gossip"
	"github.com/peerchat/peerchat/protocol"
)

// Drops carries sync requests from a gossipsub tracer to the syncer. It
// exists apart from the Syncer because gossipsub takes its tracer before
// the rooms, and so the syncer, can exist.
type Drops struct{ ch chan syncKey }

// NewDrops returns a hand-off that holds 64 requests; more are dropped.
func NewDrops() *Drops { return &Drops{ch: make(chan syncKey, 64)} }

// Tracer is a gossipsub tracer that notices messages gossipsub dropped
// without looking at them (queues full, validation throttled) and asks for
// a sync with the peer that sent them, so a burst that overflowed a queue
// is made whole in moments rather than at the next periodic sync. Give it
// to gossipsub with pubsub.WithRawTracer.
//
// It runs on gossipsub's event loop, which must never wait: a caller
// holding a lock may itself be waiting on that loop (ListPeers). So it
// only hands the request to the syncer's goroutine (Config.Drops), and drops it when
// that goroutine is behind; the periodic sync covers a dropped request.
func (d *Drops) Tracer() pubsub.RawTracer { return dropTracer{dropped: d.ch} }

type dropTracer struct {
	gossip.NopTracer
	dropped chan<- syncKey
}

func (t dropTracer) RejectMessage(m *pubsub.Message, reason string) {
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

// DropTracer is the tracer of the Drops this syncer listens to.
func (sy *Syncer) DropTracer() pubsub.RawTracer { return sy.cfg.Drops.Tracer() }
