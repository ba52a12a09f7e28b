package push

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
)

// ErrBudget is returned by a write that would take a limited circuit past
// the share of its data limit this node allows itself: the relay would
// otherwise stop forwarding that direction mid-frame.
var ErrBudget = errors.New("the relayed circuit's data budget is spent")

const (
	// defaultLimitData is what a relay that names no data limit in its
	// answer is assumed to allow: go-libp2p's default (128 KiB each way).
	// Relays that set a duration only send 0, which means no data limit.
	defaultLimitData = 128 << 10
	// minReserve is the least part of a circuit's data limit left unused.
	minReserve = 4 << 10
	// perWrite is what one write costs on the wire besides its payload:
	// a yamux header (12 bytes) and a Noise frame's length and tag
	// (18 bytes), rounded up.
	perWrite = 32
	// perStream is what opening or accepting a stream costs this node's
	// direction: the multistream header and the protocol ID.
	perStream = 64
	// chunk is the most payload one yamux frame carries here; a longer
	// write pays perWrite once per chunk.
	chunk = 16 << 10
)

// circuit is one limited relayed connection and what this node has
// written on it. The relay counts the bytes it forwards in each direction
// and stops forwarding at its limit, so each side counts what it writes:
// payloads exactly, the muxer's and the security layer's framing by
// estimate. What libp2p itself writes (identify, its pushes) is not seen
// here; the reserve left unused covers it.
type circuit struct {
	conn     network.Conn
	limit    int64         // the relay's data limit for each direction; 0 means none
	duration time.Duration // the relay's time limit; 0 means none
	opened   time.Time

	sent     atomic.Int64 // estimated wire bytes this node wrote
	renewing atomic.Bool  // this node closed it to open a fresh one
	// counted adds to the node's total of bytes written on circuits;
	// nil in tests of the accounting alone.
	counted func(int64)
}

// newCircuit reads the relay's limits from c's stats (the relay states them
// when the circuit opens; go-libp2p keeps them in ConnStats.Extra).
func newCircuit(c network.Conn) *circuit {
	st := c.Stat()
	ci := &circuit{conn: c, limit: defaultLimitData, opened: st.Opened}
	if ci.opened.IsZero() {
		ci.opened = time.Now()
	}
	if v, ok := st.Extra[client.StatLimitData].(uint64); ok {
		ci.limit = int64(v)
	}
	if v, ok := st.Extra[client.StatLimitDuration].(time.Duration); ok {
		ci.duration = v
	}
	return ci
}

// usable is the part of the data limit this node writes at most.
func (c *circuit) usable() int64 {
	if c.limit == 0 {
		return 1<<63 - 1
	}
	return c.limit - max(c.limit/4, minReserve)
}

// cost is the estimated wire size of one write of n payload bytes.
func cost(n int) int64 {
	return int64(n) + perWrite*int64(1+n/chunk)
}

// charge books a write of n payload bytes, or refuses it (and books
// nothing) when it would pass the usable budget.
func (c *circuit) charge(n int) bool {
	return c.chargeRaw(cost(n))
}

func (c *circuit) chargeRaw(b int64) bool {
	for {
		old := c.sent.Load()
		if old+b > c.usable() {
			return false
		}
		if c.sent.CompareAndSwap(old, old+b) {
			if c.counted != nil {
				c.counted(b)
			}
			return true
		}
	}
}

// left is how many more estimated wire bytes fit.
func (c *circuit) left() int64 { return c.usable() - c.sent.Load() }

// countedStream is a stream on a limited circuit whose writes are charged
// to the circuit; a write that does not fit fails with ErrBudget and
// resets the stream rather than reach the relay's limit. It does not
// renew the circuit: a sync that cannot fit (one envelope larger than
// the relay lets a circuit carry) would fail the same way on every fresh
// one. Push renews when its own next envelope does not fit, and the sync
// that runs on the new circuit goes on from what the failed one stored.
type countedStream struct {
	network.Stream
	c *circuit
}

func (s *countedStream) Write(b []byte) (int, error) {
	if !s.c.charge(len(b)) {
		s.Stream.Reset()
		return 0, ErrBudget
	}
	return s.Stream.Write(b)
}
