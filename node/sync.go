package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/reconcile"
	"github.com/peerchat/peerchat/protocol/sketch"
)

const (
	syncTimeout  = 2 * time.Minute
	syncInterval = 10 * time.Second
	// maxSyncRounds stops a hostile or broken responder from keeping a
	// reconciliation going forever; honest peers converge in a few rounds
	// (about log16 of the history size).
	maxSyncRounds = 64
)

// syncKey names one reconciliation: a room with a peer.
type syncKey struct {
	room string
	peer peer.ID
}

// startSync serves the sync protocols and starts the periodic sync loop.
func (n *Node) startSync() {
	n.syncing = map[syncKey]bool{}
	for _, proto := range n.syncProtocols() {
		n.host.SetStreamHandler(proto, func(s network.Stream) {
			if n.cutOff(s.Conn().RemotePeer()) {
				s.Reset()
				return
			}
			// The handler's own goroutine belongs to libp2p; the work is
			// tracked so that Close waits for it before closing the store.
			done := make(chan struct{})
			if !n.goTracked(func() { defer close(done); n.serveSync(s) }) {
				s.Reset()
				return
			}
			<-done
		})
	}
	n.goTracked(func() { n.syncPeriodically(n.ctx) })
	n.goTracked(func() {
		for {
			select {
			case <-n.ctx.Done():
				return
			case k := <-n.syncDropped:
				n.requestSync(k.room, k.peer)
			}
		}
	})
}

// syncProtocols lists the sync protocols this node speaks, preferred
// first: 1.1.0 costs bytes in proportion to the difference, and 1.0.0 is
// kept for peers that predate it.
func (n *Node) syncProtocols() []libp2pprotocol.ID {
	if n.cfg.legacySyncOnly {
		return []libp2pprotocol.ID{protocol.SyncProtocol}
	}
	return []libp2pprotocol.ID{protocol.SyncSketchProtocol, protocol.SyncProtocol}
}

// requestSync reconciles room with p in the background. A request for a
// pair already being synced marks it to run once more when that finishes,
// so nothing sent in the meantime is missed and no pair runs twice at once.
func (n *Node) requestSync(room string, p peer.ID) {
	if n.cutOff(p) {
		return
	}
	k := syncKey{room, p}
	n.mu.Lock()
	if running, ok := n.syncing[k]; ok {
		if !running {
			n.mu.Unlock()
			return // already queued to run again
		}
		n.syncing[k] = false
		n.mu.Unlock()
		return
	}
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.syncing[k] = true
	n.wg.Add(1) // as goTracked does; n.mu is held
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		for {
			if err := n.syncWith(n.ctx, room, p); err != nil && n.ctx.Err() == nil {
				n.log.Debug("sync failed", "room", room, "peer", p, "err", err)
			}
			n.mu.Lock()
			again := !n.syncing[k]
			if !again || n.ctx.Err() != nil {
				delete(n.syncing, k)
				n.mu.Unlock()
				return
			}
			n.syncing[k] = true
			n.mu.Unlock()
		}
	}()
}

// claimSync marks a pair as being synced by a run this node serves, so
// that a request for the same pair meanwhile (the periodic sync picking
// this peer, a drop noticed on gossip) waits for it instead of starting a
// second run in parallel that carries the envelopes still in flight once
// more. release starts the request queued meanwhile, if any. When this node
// already runs a sync with the peer itself, the pair is that run's.
func (n *Node) claimSync(k syncKey) (release func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.syncing[k]; ok {
		return func() {}
	}
	n.syncing[k] = true
	return func() {
		n.mu.Lock()
		again := !n.syncing[k]
		delete(n.syncing, k)
		n.mu.Unlock()
		if again {
			n.requestSync(k.room, k.peer)
		}
	}
}

// syncPeriodically reconciles each room with one random peer of the room
// every syncInterval, as a safety net for anything gossip dropped.
func (n *Node) syncPeriodically(ctx context.Context) {
	every := syncInterval
	if n.cfg.syncInterval > 0 {
		every = n.cfg.syncInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var pairs []syncKey
		for name, r := range n.joinedRooms() {
			if peers := r.topic.ListPeers(); len(peers) > 0 {
				pairs = append(pairs, syncKey{name, peers[rand.N(len(peers))]})
			}
		}
		for _, k := range pairs {
			n.requestSync(k.room, k.peer)
		}
	}
}

// syncWith runs the initiator's side of the sync protocol for room with p,
// reporting its progress.
func (n *Node) syncWith(ctx context.Context, room string, p peer.ID) error {
	if n.cutOff(p) {
		return errCutOff
	}
	sp := n.beginSync(ctx, room, p, true)
	err := n.reconcileWith(ctx, room, p, sp)
	sp.finish(ctx, err)
	return err
}

func (n *Node) reconcileWith(ctx context.Context, room string, p peer.ID, sp *syncProgress) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, n.syncProtocols()...)
	if err != nil {
		return fmt.Errorf("open sync stream: %w", err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	rd := bufio.NewReader(s)
	w := bufio.NewWriter(s)
	if err := protocol.WriteFrame(w, protocol.FrameHello, protocol.EncodeHello(protocol.Hello{Room: room, Horizon: n.horizon(room)})); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	payload, err := expectFrame(rd, protocol.FrameHello)
	if err != nil {
		return err
	}
	peerHello, err := protocol.DecodeHello(payload)
	if err != nil {
		return err
	}
	items, release, err := n.syncItems(ctx, room, peerHello.Horizon)
	if err != nil {
		return err
	}
	defer release()
	if s.Protocol() == protocol.SyncSketchProtocol {
		err = n.reconcileSketch(ctx, rd, w, room, items, sp)
	} else {
		err = n.reconcileRanges(ctx, rd, w, room, items, sp)
	}
	if err != nil {
		return err
	}
	n.flushOutbox(ctx, room)
	return nil
}

// reconcileRanges runs range-based reconciliation (the whole of 1.0.0
// after the hellos, and 1.1.0's fallback): rounds of Reconcile frames
// until the initiator knows both directions of the difference, then Want
// frames for what it lacks and the exchange of envelopes.
func (n *Node) reconcileRanges(ctx context.Context, rd *bufio.Reader, w *bufio.Writer, room string, items []store.Item, sp *syncProgress) error {
	in := reconcile.NewInitiator(items, reconcile.Config{})
	msg, err := in.Start()
	if err != nil {
		return err
	}
	for msg != nil {
		if in.Rounds() > maxSyncRounds {
			return fmt.Errorf("reconciliation did not converge in %d rounds", maxSyncRounds)
		}
		if err := protocol.WriteFrame(w, protocol.FrameReconcile, msg); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		reply, err := expectFrame(rd, protocol.FrameReconcile)
		if err != nil {
			return err
		}
		if msg, err = in.Next(reply); err != nil {
			return err
		}
	}
	need := in.Need()
	for len(need) > 0 {
		batch := need[:min(len(need), protocol.MaxWantIDs)]
		need = need[len(batch):]
		ids := make([]protocol.ID, len(batch))
		for i, it := range batch {
			ids[i] = it.ID
		}
		if err := protocol.WriteFrame(w, protocol.FrameWant, protocol.EncodeIDs(ids)); err != nil {
			return err
		}
	}
	return n.finishSync(ctx, rd, w, room, fromReconcileIDs(in.Have()), sp)
}

// finishSync is the initiator's last step in both versions: send the
// envelopes the responder lacks and every receipt, then Done, and store
// what the responder sends until its own Done, which it sends only once
// it has stored everything of ours.
func (n *Node) finishSync(ctx context.Context, rd *bufio.Reader, w *bufio.Writer, room string, haves []protocol.ID, sp *syncProgress) error {
	if err := n.sendEnvelopes(ctx, w, haves, sp); err != nil {
		return err
	}
	if err := n.sendMarkers(ctx, w, room, sp); err != nil {
		return err
	}
	if err := protocol.WriteFrame(w, protocol.FrameDone, nil); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return n.receiveEnvelopes(ctx, rd, room, sp, nil)
}

// sendMarkers writes every stored receipt of room. Markers are one per
// member and kind, so sending all of them costs little, and it is how read
// markers reach peers that were offline when they were set.
func (n *Node) sendMarkers(ctx context.Context, w *bufio.Writer, room string, sp *syncProgress) error {
	envs, err := n.store.Markers(ctx, room)
	if err != nil {
		return err
	}
	for _, env := range envs {
		if err := protocol.WriteFrame(w, protocol.FrameEnvelope, env); err != nil {
			return err
		}
	}
	sp.add(ctx, 0, len(envs))
	return nil
}

// serveSync runs the responder's side: answer reconciliation messages,
// take the initiator's envelopes and wants, then send what it wants.
func (n *Node) serveSync(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(syncTimeout))
	ctx, cancel := context.WithTimeout(n.ctx, syncTimeout)
	defer cancel()
	rd := bufio.NewReader(s)
	w := bufio.NewWriter(s)
	fail := func(reason string) {
		protocol.WriteFrame(w, protocol.FrameError, []byte(reason))
		w.Flush()
	}
	payload, err := expectFrame(rd, protocol.FrameHello)
	if err != nil {
		s.Reset()
		return
	}
	hello, err := protocol.DecodeHello(payload)
	if err != nil {
		s.Reset()
		return
	}
	room := hello.Room
	if _, err := n.joined(room); err != nil {
		fail("room not joined")
		return
	}
	protocol.WriteFrame(w, protocol.FrameHello, protocol.EncodeHello(protocol.Hello{Room: room, Horizon: n.horizon(room)}))
	if err := w.Flush(); err != nil {
		s.Reset()
		return
	}
	release := n.claimSync(syncKey{room, s.Conn().RemotePeer()})
	defer release()
	sp := n.beginSync(ctx, room, s.Conn().RemotePeer(), false)
	err = n.answerSync(ctx, room, hello.Horizon, s.Protocol() == protocol.SyncSketchProtocol, rd, w, sp)
	sp.finish(ctx, err)
	if err != nil {
		n.log.Debug("serve sync", "room", room, "peer", s.Conn().RemotePeer(), "err", err)
		s.Reset()
		return
	}
	n.flushOutbox(ctx, room)
}

// answerSync is the responder's side after the hello. With sketched (the
// stream speaks 1.1.0) it first tells the initiator its item count and
// answers sketch tables too; range reconciliation is served in both
// versions, as 1.1.0's fallback.
func (n *Node) answerSync(ctx context.Context, room string, peerHorizon uint64, sketched bool, rd *bufio.Reader, w *bufio.Writer, sp *syncProgress) error {
	items, release, err := n.syncItems(ctx, room, peerHorizon)
	if err != nil {
		protocol.WriteFrame(w, protocol.FrameError, []byte("store unavailable"))
		w.Flush()
		return err
	}
	defer release()
	var sk *sketchAnswer
	if sketched {
		sk = &sketchAnswer{n: n, room: room, items: items}
		if err := protocol.WriteFrame(w, protocol.FrameSketch, sketch.EncodeSize(uint64(len(items)))); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	var wants []protocol.ID
	err = n.receiveEnvelopes(ctx, rd, room, sp, func(t protocol.FrameType, payload []byte) error {
		if sk != nil && sk.answered {
			// The answer to a table that peeled settled everything; only
			// the initiator's envelopes and Done may follow.
			return fmt.Errorf("%w: type %d after the sketch answer", protocol.ErrFrame, t)
		}
		switch t {
		case protocol.FrameSketch:
			if sk == nil {
				break
			}
			return sk.answer(ctx, w, payload, sp)
		case protocol.FrameReconcile:
			reply, err := reconcile.Respond(items, payload, reconcile.Config{})
			if err != nil {
				return err
			}
			if err := protocol.WriteFrame(w, protocol.FrameReconcile, reply); err != nil {
				return err
			}
			return w.Flush()
		case protocol.FrameWant:
			ids, err := protocol.DecodeIDs(payload)
			if err != nil {
				return err
			}
			if len(wants)+len(ids) > len(items) {
				return fmt.Errorf("%w: wants more envelopes than the room holds", protocol.ErrFrame)
			}
			wants = append(wants, ids...)
			return nil
		}
		return fmt.Errorf("%w: unexpected type %d", protocol.ErrFrame, t)
	})
	if err != nil {
		return err
	}
	if err := n.sendEnvelopes(ctx, w, wants, sp); err != nil {
		return err
	}
	if sk == nil || !sk.answered { // the sketch answer carried them
		if err := n.sendMarkers(ctx, w, room, sp); err != nil {
			return err
		}
	}
	if err := protocol.WriteFrame(w, protocol.FrameDone, nil); err != nil {
		return err
	}
	return w.Flush()
}

// sendEnvelopes writes the stored envelopes with the given IDs.
func (n *Node) sendEnvelopes(ctx context.Context, w *bufio.Writer, ids []protocol.ID, sp *syncProgress) error {
	for _, id := range ids {
		env, err := n.store.Envelope(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := protocol.WriteFrame(w, protocol.FrameEnvelope, env.Bytes()); err != nil {
			return err
		}
		sp.add(ctx, 0, 1)
	}
	return nil
}

// receiveEnvelopes reads frames until Done, verifying and storing every
// envelope exactly as if it had come by gossip. Other frame types go to
// other (nil means they are a protocol error), which may end the reading
// early by returning errPhaseDone. It returns once everything received is
// on disk.
func (n *Node) receiveEnvelopes(ctx context.Context, rd *bufio.Reader, room string, sp *syncProgress, other func(protocol.FrameType, []byte) error) error {
	for {
		t, payload, err := protocol.ReadFrame(rd)
		if err != nil {
			return err
		}
		switch {
		case t == protocol.FrameDone:
			return n.store.Flush(ctx)
		case t == protocol.FrameError:
			return fmt.Errorf("peer refused sync: %s", payload)
		case t == protocol.FrameEnvelope:
			if n.knownMarker(room, payload) {
				continue
			}
			rcv, err := n.checkEnvelope(room, payload)
			if err != nil {
				return err
			}
			if protocol.Ephemeral(rcv.env.Kind) {
				return fmt.Errorf("%w: %s signals are never synced", protocol.ErrFrame, rcv.env.Kind)
			}
			if rcv.env.Kind == protocol.KindMessage && !sp.limit.allow(rcv.env.Author, rcv.env.SentAt) {
				n.metrics.rejected.WithLabelValues("sync_over_rate").Inc()
				continue
			}
			n.acceptEnvelope(ctx, room, rcv)
			sp.add(ctx, 1, 0)
		case other != nil:
			err := other(t, payload)
			if errors.Is(err, errPhaseDone) {
				return n.store.Flush(ctx)
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: unexpected type %d", protocol.ErrFrame, t)
		}
	}
}

// knownMarker reports whether data is a receipt that could not move the
// marker this node holds for its author: one it holds already, or an
// older one. A peer sends every marker it holds on each sync, so most are
// known, and checking that before the signature costs a decode instead of
// a verification; in a room of 300 members, verifying them all was a third
// of every node's CPU. Skipping is safe whether or not the signature is
// good, because such a receipt changes nothing.
func (n *Node) knownMarker(room string, data []byte) bool {
	env, err := protocol.DecodeStored(data)
	if err != nil || env.Kind != protocol.KindReceipt || env.Room != room {
		return false
	}
	b, err := protocol.DecodeReceipt(env)
	if err != nil {
		return false
	}
	id, err := protocol.ParseID(b.UpTo)
	if err != nil {
		return false
	}
	held, ok := n.marker(room, env.Author, b.Kind)
	return ok && !(marker{b.UpToLamport, id}).after(held)
}

// syncItems returns the part of room's history index that a sync with a
// peer whose horizon is peerHorizon covers: what lies above both horizons.
// The slice is the store's own, lent until release is called.
func (n *Node) syncItems(ctx context.Context, room string, peerHorizon uint64) (items []store.Item, release func(), err error) {
	items, release, err = n.store.Items(ctx, room)
	if err != nil {
		return nil, nil, err
	}
	h := max(n.horizon(room), peerHorizon)
	i := sort.Search(len(items), func(i int) bool { return items[i].Lamport > h })
	return items[i:], release, nil
}

func expectFrame(rd *bufio.Reader, want protocol.FrameType) ([]byte, error) {
	t, payload, err := protocol.ReadFrame(rd)
	if err != nil {
		return nil, err
	}
	if t == protocol.FrameError {
		return nil, fmt.Errorf("peer refused sync: %s", payload)
	}
	if t != want {
		return nil, fmt.Errorf("%w: got type %d, want %d", protocol.ErrFrame, t, want)
	}
	return payload, nil
}

func fromReconcileIDs(items []reconcile.Item) []protocol.ID {
	out := make([]protocol.ID, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}
