// Package roomsync fills whatever gossip missed: it reconciles a room's
// history with a peer of the room (/peerchat/sync/1.1.0 with sketches,
// 1.0.0's range reconciliation with older peers and as the fallback) and
// hands every envelope it receives to the intake, exactly as gossip does.
package roomsync

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/intake"
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

// SyncWith runs the initiator's side of the sync protocol for room with p,
// reporting its progress.
func (sy *Syncer) SyncWith(ctx context.Context, room string, p peer.ID) error {
	if sy.cfg.CutOff(p) {
		return abuse.ErrCutOff
	}
	sp := sy.beginSync(ctx, room, p, true)
	err := sy.reconcileWith(ctx, room, p, sp)
	sp.finish(ctx, err)
	return err
}

func (sy *Syncer) reconcileWith(ctx context.Context, room string, p peer.ID, sp *syncProgress) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	// A peer reached only over a limited relayed circuit syncs on it
	// (libp2p would otherwise wait for a direct link); libp2p still
	// picks a direct or unlimited link when there is one.
	s, err := sy.host.NewStream(network.WithAllowLimitedConn(ctx, "peerchat sync"), p, sy.Protocols()...)
	if err != nil {
		return fmt.Errorf("open sync stream: %w", err)
	}
	s = sy.wrap(s)
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	rd := bufio.NewReader(s)
	w := bufio.NewWriter(s)
	if err := sy.initiate(ctx, s, rd, w, room, sp); err != nil {
		refuse(s, w, err)
		return err
	}
	sy.cfg.Synced(ctx, room)
	return nil
}

// initiate is the initiator's exchange on an open stream, from its Hello
// to the responder's Done.
func (sy *Syncer) initiate(ctx context.Context, s network.Stream, rd *bufio.Reader, w *bufio.Writer, room string, sp *syncProgress) error {
	if err := protocol.WriteFrame(w, protocol.FrameHello, protocol.EncodeHello(protocol.Hello{Room: room, Horizon: sy.cfg.Horizon(room)})); err != nil {
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
	items, release, err := sy.syncItems(ctx, room, peerHello.Horizon)
	if err != nil {
		return err
	}
	defer release()
	if s.Protocol() == protocol.SyncSketchProtocol {
		return sy.reconcileSketch(ctx, rd, w, room, items, sp)
	}
	return sy.reconcileRanges(ctx, rd, w, room, items, sp)
}

// reconcileRanges runs range-based reconciliation (the whole of 1.0.0
// after the hellos, and 1.1.0's fallback): rounds of Reconcile frames
// until the initiator knows both directions of the difference, then Want
// frames for what it lacks and the exchange of envelopes.
func (sy *Syncer) reconcileRanges(ctx context.Context, rd *bufio.Reader, w *bufio.Writer, room string, items []store.Item, sp *syncProgress) error {
	in := reconcile.NewInitiator(items, reconcile.Config{})
	msg, err := in.Start()
	if err != nil {
		return err
	}
	for msg != nil {
		if in.Rounds() > maxSyncRounds {
			return fmt.Errorf("%w: reconciliation did not converge in %d rounds", errLimit, maxSyncRounds)
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
	return sy.finishSync(ctx, rd, w, room, fromReconcileIDs(in.Have()), sp)
}

// finishSync is the initiator's last step in both versions: send the
// envelopes the responder lacks and every receipt, then Done, and store
// what the responder sends until its own Done, which it sends only once
// it has stored everything of ours.
func (sy *Syncer) finishSync(ctx context.Context, rd *bufio.Reader, w *bufio.Writer, room string, haves []protocol.ID, sp *syncProgress) error {
	if err := sy.sendEnvelopes(ctx, w, haves, sp); err != nil {
		return err
	}
	if err := sy.sendMarkers(ctx, w, room, sp); err != nil {
		return err
	}
	if err := protocol.WriteFrame(w, protocol.FrameDone, nil); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return sy.receiveEnvelopes(ctx, rd, room, sp, nil)
}

// sendMarkers writes every stored receipt of room. Markers are one per
// member and kind, so sending all of them costs little, and it is how read
// markers reach peers that were offline when they were set.
func (sy *Syncer) sendMarkers(ctx context.Context, w *bufio.Writer, room string, sp *syncProgress) error {
	envs, err := sy.store.Markers(ctx, room)
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

// serve runs the responder's side: answer reconciliation messages,
// take the initiator's envelopes and wants, then send what it wants.
func (sy *Syncer) serve(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(syncTimeout))
	ctx, cancel := context.WithTimeout(sy.ctx, syncTimeout)
	defer cancel()
	rd := bufio.NewReader(s)
	w := bufio.NewWriter(s)
	fail := func(reason string) {
		protocol.WriteFrame(w, protocol.FrameError, []byte(reason))
		w.Flush()
	}
	payload, err := expectFrame(rd, protocol.FrameHello)
	if err != nil {
		refuse(s, w, err)
		return
	}
	hello, err := protocol.DecodeHello(payload)
	if err != nil {
		refuse(s, w, err)
		return
	}
	room := hello.Room
	if err := sy.rooms.Joined(room); err != nil {
		fail(protocol.ReasonRoomNotJoined)
		return
	}
	protocol.WriteFrame(w, protocol.FrameHello, protocol.EncodeHello(protocol.Hello{Room: room, Horizon: sy.cfg.Horizon(room)}))
	if err := w.Flush(); err != nil {
		s.Reset()
		return
	}
	release := sy.claimSync(syncKey{room, s.Conn().RemotePeer()})
	defer release()
	sp := sy.beginSync(ctx, room, s.Conn().RemotePeer(), false)
	err = sy.answerSync(ctx, room, hello.Horizon, s.Protocol() == protocol.SyncSketchProtocol, rd, w, sp)
	sp.finish(ctx, err)
	if err != nil {
		sy.log.Debug("serve sync", "room", room, "peer", s.Conn().RemotePeer(), "err", err)
		refuse(s, w, err)
		return
	}
	sy.cfg.Synced(ctx, room)
}

// answerSync is the responder's side after the hello. With sketched (the
// stream speaks 1.1.0) it first tells the initiator its item count and
// answers sketch tables too; range reconciliation is served in both
// versions, as 1.1.0's fallback.
func (sy *Syncer) answerSync(ctx context.Context, room string, peerHorizon uint64, sketched bool, rd *bufio.Reader, w *bufio.Writer, sp *syncProgress) error {
	items, release, err := sy.syncItems(ctx, room, peerHorizon)
	if err != nil {
		protocol.WriteFrame(w, protocol.FrameError, []byte(protocol.ReasonStoreUnavailable))
		w.Flush()
		return err
	}
	defer release()
	var sk *sketchAnswer
	if sketched {
		sk = &sketchAnswer{sy: sy, room: room, items: items}
		if err := protocol.WriteFrame(w, protocol.FrameSketch, sketch.EncodeSize(uint64(len(items)))); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	var wants []protocol.ID
	err = sy.receiveEnvelopes(ctx, rd, room, sp, func(t protocol.FrameType, payload []byte) error {
		if sk != nil && sk.answered {
			// The answer to a table that peeled settled everything; only
			// the initiator's envelopes and Done may follow.
			return fmt.Errorf("%w: %w: type %d after the sketch answer", protocol.ErrFrame, errUnexpected, t)
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
				return fmt.Errorf("%w: %w: wants more envelopes than the room holds", protocol.ErrFrame, errLimit)
			}
			wants = append(wants, ids...)
			return nil
		}
		return fmt.Errorf("%w: %w: type %d", protocol.ErrFrame, errUnexpected, t)
	})
	if err != nil {
		return err
	}
	if err := sy.sendEnvelopes(ctx, w, wants, sp); err != nil {
		return err
	}
	if sk == nil || !sk.answered { // the sketch answer carried them
		if err := sy.sendMarkers(ctx, w, room, sp); err != nil {
			return err
		}
	}
	if err := protocol.WriteFrame(w, protocol.FrameDone, nil); err != nil {
		return err
	}
	return w.Flush()
}

// sendEnvelopes writes the stored envelopes with the given IDs.
func (sy *Syncer) sendEnvelopes(ctx context.Context, w *bufio.Writer, ids []protocol.ID, sp *syncProgress) error {
	for _, id := range ids {
		env, err := sy.store.Envelope(ctx, id)
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
func (sy *Syncer) receiveEnvelopes(ctx context.Context, rd *bufio.Reader, room string, sp *syncProgress, other func(protocol.FrameType, []byte) error) error {
	for {
		t, payload, err := protocol.ReadFrame(rd)
		if err != nil {
			return err
		}
		switch {
		case t == protocol.FrameDone:
			return sy.store.Flush(ctx)
		case t == protocol.FrameError:
			return fmt.Errorf("peer refused sync: %s", payload)
		case t == protocol.FrameEnvelope:
			if sy.cfg.KnownMarker(room, payload) {
				continue
			}
			rcv, err := sy.intake.Check(room, payload)
			if intake.Ignorable(err) {
				continue // counted; an older node may hold it honestly
			}
			if err != nil {
				return fmt.Errorf("%w: %w", errInvalidEnvelope, err)
			}
			if protocol.Ephemeral(rcv.Env.Kind) {
				return fmt.Errorf("%w: %w: %s signals are never synced", protocol.ErrFrame, errInvalidEnvelope, rcv.Env.Kind)
			}
			if rcv.Env.Kind == protocol.KindMessage && !sp.limit.Allow(rcv.Env.Author, rcv.Env.SentAt) {
				sy.metrics.Reject("sync_over_rate")
				continue
			}
			sy.intake.Accept(ctx, room, rcv)
			sp.add(ctx, 1, 0)
		case other != nil:
			err := other(t, payload)
			if errors.Is(err, errPhaseDone) {
				return sy.store.Flush(ctx)
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %w: type %d", protocol.ErrFrame, errUnexpected, t)
		}
	}
}

// syncItems returns the part of room's history index that a sync with a
// peer whose horizon is peerHorizon covers: what lies above both horizons.
// The slice is the store's own, lent until release is called.
func (sy *Syncer) syncItems(ctx context.Context, room string, peerHorizon uint64) (items []store.Item, release func(), err error) {
	items, release, err = sy.store.Items(ctx, room)
	if err != nil {
		return nil, nil, err
	}
	h := max(sy.cfg.Horizon(room), peerHorizon)
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
		return nil, fmt.Errorf("%w: %w: got type %d, want %d", protocol.ErrFrame, errUnexpected, t, want)
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
