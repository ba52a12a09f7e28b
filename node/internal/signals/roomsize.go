package signals

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

// Control traffic (presence, delivered receipts) is sent by every member
// and verified by every other one, so at a fixed rate a room of N members
// costs each member N verifications per period and the room N². peerchat
// stretches the period of each kind with the room's size instead, which
// keeps the cost per member flat however large the room grows; small rooms
// keep the quick periods that make them feel live. docs/scaling.md has the
// measurements behind this.

// RoomSize estimates how many members room has, the local node included.
// What the node sees itself is the most of the peers subscribed to the
// room's topic that it is connected to, the peers it has seen present
// there this run, and the peers whose delivered markers it holds. A node
// that has just joined a large room sees only a few of those, so it also
// listens to the members present: the median of the sizes they announced,
// capped at sizeHintFactor times its own count. The median lets a few
// peers neither inflate nor deflate the estimate; the cap bounds how far
// peers can slow this node's signals, while still letting one round of
// announcements carry a settled estimate to a newcomer.
func (sig *Signals) RoomSize(room string) int {
	seen := len(sig.rooms.Peers(room))
	present := 0
	var reported []int
	sig.presence.mu.Lock()
	for _, p := range sig.presence.peers {
		if p.rooms[room] && p.status != protocol.StatusOffline {
			present++
			if size := p.sizes[room]; size > 0 {
				reported = append(reported, size)
			}
		}
	}
	sig.presence.mu.Unlock()
	seen = max(seen, present)
	marked := 0
	sig.receipts.mu.Lock()
	for k := range sig.receipts.markers {
		if k.room == room && k.kind == protocol.ReceiptDelivered && k.peer != sig.self {
			marked++
		}
	}
	sig.receipts.mu.Unlock()
	own := max(seen, marked) + 1
	return max(own, min(median(reported), sizeHintFactor*own))
}

// sizeHintFactor bounds how much larger than its own count a node takes
// the room to be on its peers' word.
const sizeHintFactor = 8

// median returns the upper median of values, or 0 for none. It reorders
// values.
func median(values []int) int {
	if len(values) == 0 {
		return 0
	}
	slices.Sort(values)
	return values[len(values)/2]
}

// stretch is how many base periods apart a kind of control message is sent
// in a room of size members when a period may carry perPeriod members'
// worth of it: 1 up to perPeriod members, then growing linearly.
func stretch(size, perPeriod int) int {
	return max(1, (size+perPeriod-1)/perPeriod)
}

// pacer spaces one kind of control message per room: a room is due when
// a jittered fraction of its current period has passed since the last
// send. The period is read anew on every check, so a room that is found
// to be larger slows down at once; the jitter, drawn again after every
// send, keeps members that started together from sending together,
// which would be a burst every member has to verify.
type pacer struct {
	last   map[string]time.Time
	factor map[string]float64
}

func newPacer() *pacer {
	return &pacer{last: map[string]time.Time{}, factor: map[string]float64{}}
}

// due reports whether room's next message is due at now under period.
func (p *pacer) due(room string, now time.Time, period time.Duration) bool {
	f, ok := p.factor[room]
	if !ok {
		// The first message waits a random part of one period, so that
		// members that all got the same first message spread out at once.
		p.last[room], p.factor[room] = now, rand.Float64()
		return false
	}
	return now.Sub(p.last[room]) >= time.Duration(f*float64(period))
}

// sent records a send in room at now.
func (p *pacer) sent(room string, now time.Time) {
	p.last[room] = now
	p.factor[room] = 0.5 + rand.Float64()
}

// keep forgets every room not in rooms.
func (p *pacer) keep(rooms []string) {
	for room := range p.last {
		if !slices.Contains(rooms, room) {
			delete(p.last, room)
			delete(p.factor, room)
		}
	}
}
