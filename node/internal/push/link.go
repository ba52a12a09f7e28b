package push

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	msmux "github.com/multiformats/go-multistream"

	"github.com/peerchat/peerchat/protocol"
)

const (
	// queueLen bounds the envelopes waiting for a peer's circuit.
	queueLen = 256
	// openTimeout bounds opening and negotiating a push stream.
	openTimeout = 10 * time.Second
	// roomsCheck is how often a writer looks whether the joined rooms
	// changed, to tell the peer.
	roomsCheck = 2 * time.Second
	// retryAfter is the pause before a writer tries again after its
	// stream failed.
	retryAfter = time.Second
	// maxRetry bounds the backoff of a writer whose streams keep failing.
	maxRetry = 30 * time.Second
)

// outFrame is an envelope waiting to be pushed.
type outFrame struct {
	room string
	data []byte
}

// link is the push state of one peer: its rooms, as it last told them,
// and the queue its writer drains.
type link struct {
	peer  peer.ID
	queue chan outFrame
	wake  chan struct{} // holds at most one wake-up

	mu    sync.Mutex
	rooms []string // the peer's rooms; guarded by mu
	// writing is true while a writer goroutine runs; guarded by
	// Push.mu, not mu.
	writing bool
}

func (l *link) inRoom(room string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.rooms, room)
}

func (l *link) wakeUp() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// linkOf returns pid's link, made when missing.
func (p *Push) linkOf(pid peer.ID) *link {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.links[pid]
	if !ok {
		l = &link{peer: pid, queue: make(chan outFrame, queueLen), wake: make(chan struct{}, 1)}
		p.links[pid] = l
	}
	return l
}

// kick looks at pid's links again: it starts a writer when the peer is
// reachable only over limited circuits, wakes the running one otherwise
// (which ends when a better link appeared), and forgets a peer with no
// connection left.
func (p *Push) kick(pid peer.ID) {
	if p.ctx.Err() != nil || p.cfg.CutOff(pid) {
		return
	}
	if len(p.cfg.Host.Network().ConnsToPeer(pid)) == 0 {
		p.mu.Lock()
		if l, ok := p.links[pid]; ok && !l.writing {
			delete(p.links, pid)
		}
		p.mu.Unlock()
		return
	}
	if !p.limitedOnly(pid) {
		p.mu.Lock()
		l := p.links[pid]
		p.mu.Unlock()
		if l != nil {
			l.wakeUp()
		}
		return
	}
	l := p.linkOf(pid)
	p.mu.Lock()
	start := !l.writing
	l.writing = true
	p.mu.Unlock()
	if start && !p.cfg.Tasks.Go(func() { p.write(l) }) {
		p.mu.Lock()
		l.writing = false
		p.mu.Unlock()
	}
	l.wakeUp()
}

// write pushes l's queue over the best circuit to its peer, opening a new
// stream whenever the last one failed, until the peer has no limited-only
// link left.
func (p *Push) write(l *link) {
	defer func() {
		p.mu.Lock()
		l.writing = false
		p.mu.Unlock()
		if !p.limitedOnly(l.peer) {
			p.drain(l)
		}
		p.kick(l.peer) // a circuit may have come back meanwhile
	}()
	var pending []outFrame
	wait := retryAfter
	for p.ctx.Err() == nil && p.limitedOnly(l.peer) {
		ci := p.bestCircuit(l.peer)
		if ci == nil {
			if !p.pause(l, retryAfter) {
				return
			}
			continue
		}
		var err error
		pending, err = p.writeOn(l, ci, pending)
		switch {
		case err == nil:
			wait = retryAfter
		case p.ctx.Err() == nil:
			// A peer that does not speak push (an older node) or keeps
			// failing is tried less and less often; a new circuit wakes
			// the writer at once.
			p.cfg.Log.Debug("push stream ended", "peer", l.peer, "err", err)
			wait = min(2*wait, maxRetry)
		}
		if !p.pause(l, wait) {
			return
		}
	}
}

// pause waits for a wake-up or d; false means the node closes.
func (p *Push) pause(l *link, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return false
	case <-l.wake:
	case <-t.C:
	}
	return true
}

// drain drops what waits for a peer that gossip reaches now; gossip's own
// sync on the peer's arrival in the room carries it.
func (p *Push) drain(l *link) {
	for {
		select {
		case <-l.queue:
		default:
			return
		}
	}
}

// writeOn opens a push stream on ci and writes the rooms and then every
// queued envelope, until the stream fails, the circuit's budget is spent
// or a better link appears. It returns the frames not yet written.
func (p *Push) writeOn(l *link, ci *circuit, pending []outFrame) ([]outFrame, error) {
	s, err := p.open(ci)
	if err != nil {
		return pending, err
	}
	defer s.Close()
	rooms := p.cfg.Rooms.Names()
	if err := p.send(s, ci, appendFrame(nil, frameRooms, encodeRooms(rooms))); err != nil {
		return pending, err
	}
	tick := time.NewTicker(roomsCheck)
	defer tick.Stop()
	for {
		for len(pending) > 0 {
			f := pending[0]
			frame := appendFrame(nil, frameEnvelope, encodeEnvelope(f.room, f.data))
			if cost(len(frame)) > ci.usable() {
				// Not even a fresh circuit of this relay takes it: dropping
				// it beats renewing circuits forever.
				p.metrics.dropped.WithLabelValues("too_large").Inc()
				pending = pending[1:]
				continue
			}
			if err := p.send(s, ci, frame); err != nil {
				return pending, err
			}
			p.metrics.envelopes.WithLabelValues("sent").Inc()
			pending = pending[1:]
		}
		select {
		case <-p.ctx.Done():
			s.Reset()
			return pending, p.ctx.Err()
		case f := <-l.queue:
			pending = append(pending, f)
		case <-tick.C:
			if now := p.cfg.Rooms.Names(); !slices.Equal(now, rooms) {
				rooms = now
				if err := p.send(s, ci, appendFrame(nil, frameRooms, encodeRooms(rooms))); err != nil {
					return pending, err
				}
			}
		case <-l.wake:
		}
		if ci.conn.IsClosed() || ci.renewing.Load() || !p.limitedOnly(l.peer) {
			return pending, nil
		}
	}
}

// open opens a push stream on the circuit itself (not whichever link
// libp2p picks), so that its bytes are charged where they go.
func (p *Push) open(ci *circuit) (network.Stream, error) {
	if !ci.chargeRaw(perStream) {
		p.spent(ci)
		return nil, ErrBudget
	}
	ctx, cancel := context.WithTimeout(p.ctx, openTimeout)
	defer cancel()
	s, err := ci.conn.NewStream(network.WithAllowLimitedConn(ctx, "peerchat push"))
	if err != nil {
		return nil, fmt.Errorf("open push stream: %w", err)
	}
	if err := s.SetProtocol(Protocol); err != nil {
		s.Reset()
		return nil, fmt.Errorf("push stream: %w", err)
	}
	s.SetDeadline(time.Now().Add(openTimeout))
	if err := msmux.SelectProtoOrFail(Protocol, s); err != nil {
		s.Reset()
		return nil, fmt.Errorf("negotiate push: %w", err)
	}
	s.SetDeadline(time.Time{})
	return s, nil
}

// send writes one frame if it fits in the circuit's budget, and closes
// the circuit for a fresh one when it does not.
func (p *Push) send(s network.Stream, ci *circuit, frame []byte) error {
	if !ci.charge(len(frame)) {
		p.spent(ci) // the frame waits for the next circuit
		return ErrBudget
	}
	s.SetWriteDeadline(time.Now().Add(openTimeout))
	_, err := s.Write(frame)
	return err
}

// serve reads what a peer pushes: its rooms, then envelopes, each taken
// through the intake like a gossiped one. A stream's first Rooms frame
// starts a sync of every room the two share (from the side with the
// smaller peer ID, as on gossip): that carries whatever the last circuit
// lost when the relay reset it.
func (p *Push) serve(s network.Stream) {
	defer s.Close()
	from := s.Conn().RemotePeer()
	l := p.linkOf(from)
	rd := bufio.NewReader(s)
	first := true
	for {
		t, payload, err := readFrame(rd)
		if err != nil {
			if p.ctx.Err() == nil {
				p.cfg.Log.Debug("push stream from peer ended", "peer", from, "err", err)
			}
			s.Reset()
			return
		}
		switch t {
		case frameRooms:
			rooms, err := decodeRooms(payload)
			if err != nil {
				s.Reset()
				return
			}
			l.mu.Lock()
			added := added(l.rooms, rooms)
			l.rooms = rooms
			l.mu.Unlock()
			p.kick(from)
			if first {
				added = rooms
			}
			first = false
			p.syncShared(from, added)
		case frameEnvelope:
			room, data, err := decodeEnvelope(payload)
			if err != nil {
				s.Reset()
				return
			}
			p.receive(from, room, data)
		}
	}
}

// stored reports whether env is in the store; a failed lookup says no,
// and the store tells a duplicate apart itself.
func (p *Push) stored(env *protocol.Envelope) bool {
	has, err := p.cfg.Has(p.ctx, env.ID())
	return err == nil && has
}

// added lists what is in now and not in before.
func added(before, now []string) []string {
	var out []string
	for _, r := range now {
		if !slices.Contains(before, r) {
			out = append(out, r)
		}
	}
	return out
}

// syncShared starts a sync of every joined room among rooms with pid.
func (p *Push) syncShared(pid peer.ID, rooms []string) {
	if p.cfg.Host.ID() > pid {
		return
	}
	for _, r := range rooms {
		if p.cfg.Rooms.Joined(r) == nil {
			p.cfg.Sync(r, pid)
		}
	}
}

// receive takes one pushed envelope through the checks gossip's validator
// makes (room joined, decode and verify, replay, rate limit) and accepts
// it.
func (p *Push) receive(from peer.ID, room string, data []byte) {
	if p.cfg.Rooms.Joined(room) != nil {
		p.cfg.Reject("push_room_not_joined")
		return
	}
	rcv, err := p.cfg.Intake.Check(room, data)
	if err != nil {
		return // counted by the intake
	}
	if rcv.Env.Kind == protocol.KindMessage && p.stored(rcv.Env) {
		p.cfg.Reject("replay")
		return
	}
	if !p.cfg.Take(from, room, rcv.Env.Author) {
		return // counted by the guard
	}
	p.metrics.envelopes.WithLabelValues("received").Inc()
	p.cfg.Intake.Accept(p.ctx, room, rcv)
}
