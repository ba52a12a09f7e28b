package reconcile

import "fmt"

// Initiator drives reconciliation from one side. It sends the first
// message, processes each reply, and accumulates the difference. Only the
// initiator learns the difference, which is why it keeps state while the
// responder does not: after it finishes, it pushes Have to the peer and
// fetches Need from it, and both sides then hold the union.
//
// An Initiator is not safe for concurrent use; one session is one sequence
// of Start and Next calls.
type Initiator struct {
	s      side
	have   []Item
	need   []Item
	rounds int
	state  initiatorState
}

type initiatorState int

const (
	stateNew initiatorState = iota
	stateWaiting
	stateDone
)

// NewInitiator returns an Initiator for the given set. items should be
// sorted ascending (see Item.Compare) and free of duplicates; otherwise a
// sorted copy is made. The Initiator does not modify items, and the caller
// must not modify them until reconciliation ends.
func NewInitiator(items []Item, cfg Config) *Initiator {
	cfg = cfg.WithDefaults()
	return &Initiator{s: side{items: normalize(items), cfg: cfg, initiator: true}}
}

// Start returns the first message to send. It is a single fingerprint of
// the whole set, so two peers that are already in sync finish after one
// round trip of a few dozen bytes, which is the common case when peers
// reconnect.
func (in *Initiator) Start() ([]byte, error) {
	if in.state != stateNew {
		return nil, fmt.Errorf("%w: Start called twice", ErrState)
	}
	w := newWriter(in.s.cfg.MaxMessageBytes)
	w.writeRemainder(minBound, fingerprintOf(in.s.items))
	in.state = stateWaiting
	in.rounds = 1
	return w.buf, nil
}

// Next processes the responder's reply to the previous message. It returns
// the next message to send, or nil when reconciliation is complete, at
// which point Have and Need hold the full difference.
//
// Errors wrap ErrState, ErrTooLarge, ErrVersion or ErrMalformed. A reply
// that is rejected changes nothing, but the session cannot continue
// meaningfully and should be abandoned. Callers talking to untrusted peers
// should also bound the number of rounds (see Rounds) or the session's
// time, since a hostile responder can keep answering with mismatches.
func (in *Initiator) Next(reply []byte) ([]byte, error) {
	if in.state != stateWaiting {
		return nil, fmt.Errorf("%w: Next called without an outstanding message", ErrState)
	}
	ranges, err := decodeMessage(reply, in.s.cfg.MaxMessageBytes)
	if err != nil {
		return nil, err
	}
	msg, d, err := in.s.answer(ranges)
	if err != nil {
		return nil, err
	}
	in.have = append(in.have, d.have...)
	in.need = append(in.need, d.need...)
	if len(msg) == 1 {
		in.state = stateDone
		return nil, nil
	}
	in.rounds++
	return msg, nil
}

// Done reports whether reconciliation has completed.
func (in *Initiator) Done() bool {
	return in.state == stateDone
}

// Rounds returns how many messages the initiator has produced so far, which
// equals the number of round trips once reconciliation is done.
func (in *Initiator) Rounds() int {
	return in.rounds
}

// Have returns, sorted ascending, the items this side holds that the peer
// lacks, as learned so far. The result is a copy.
func (in *Initiator) Have() []Item {
	return sortedUnique(in.have)
}

// Need returns, sorted ascending, the items the peer holds that this side
// lacks, as learned so far. The result is a copy.
func (in *Initiator) Need() []Item {
	return sortedUnique(in.need)
}
