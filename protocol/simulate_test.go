package protocol_test

// simulateSync plays a whole sync session between two holdings without a
// network, writing the frames our node writes in the order it writes them.
// The generator turns its output into the transcript vectors, and the
// conformance test checks that it still produces them.

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/reconcile"
	"github.com/peerchat/peerchat/protocol/sketch"
)

// syncSide is one party's holdings for a simulated session.
type syncSide struct {
	horizon  uint64
	messages []*protocol.Envelope // any order
	receipts [][]byte             // in the order its store lists them
}

// above returns the side's items above the shared horizon h in history
// order, as the node's syncItems does, with each item's envelope.
func (s syncSide) above(h uint64) ([]reconcile.Item, map[protocol.ID][]byte) {
	var items []reconcile.Item
	envs := map[protocol.ID][]byte{}
	for _, e := range s.messages {
		if e.Lamport > h {
			items = append(items, reconcile.Item{Lamport: e.Lamport, ID: e.ID()})
			envs[e.ID()] = e.Bytes()
		}
	}
	slices.SortFunc(items, reconcile.Item.Compare)
	return items, envs
}

// session records the frames of a simulated sync in the order our node
// writes them. Both directions share one list: each frame is placed where
// the node's exchange puts it (a side writes only after reading what its
// turn waits for), which is one valid interleaving of the two streams.
type session struct {
	frames []transcriptRec
}

func (s *session) add(from string, t protocol.FrameType, payload []byte) {
	s.frames = append(s.frames, transcriptRec{From: from, Type: int(t), Name: frameNames[t], Payload: slices.Clone(payload)})
}

// simulateSync runs the exchange of node/sync.go and node/syncsketch.go
// between ini and resp for room over proto without a network, and returns
// its frames. seed is the initiator's sketch seed (1.1.0 only). The code
// follows the node's order of writes step by step; a change there must be
// made here too, and the vectors regenerated.
func simulateSync(proto, room string, ini, resp syncSide, seed uint64) ([]transcriptRec, error) {
	var s session
	s.add("initiator", protocol.FrameHello, protocol.EncodeHello(protocol.Hello{Room: room, Horizon: ini.horizon}))
	s.add("responder", protocol.FrameHello, protocol.EncodeHello(protocol.Hello{Room: room, Horizon: resp.horizon}))
	h := max(ini.horizon, resp.horizon)
	iniItems, iniEnvs := ini.above(h)
	respItems, respEnvs := resp.above(h)
	if proto == protocol.SyncSketchProtocol {
		s.add("responder", protocol.FrameSketch, sketch.EncodeSize(uint64(len(respItems))))
		done, err := s.sketchPhase(seed, ini, resp, iniItems, respItems, iniEnvs, respEnvs)
		if err != nil || done {
			return s.frames, err
		}
	}
	return s.frames, s.rangePhase(ini, resp, iniItems, respItems, iniEnvs, respEnvs)
}

// rangePhase is 1.0.0 after the hellos, and 1.1.0's fallback.
func (s *session) rangePhase(ini, resp syncSide, iniItems, respItems []reconcile.Item, iniEnvs, respEnvs map[protocol.ID][]byte) error {
	in := reconcile.NewInitiator(iniItems, reconcile.Config{})
	msg, err := in.Start()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	for msg != nil {
		s.add("initiator", protocol.FrameReconcile, msg)
		reply, err := reconcile.Respond(respItems, msg, reconcile.Config{})
		if err != nil {
			return fmt.Errorf("respond: %w", err)
		}
		s.add("responder", protocol.FrameReconcile, reply)
		if msg, err = in.Next(reply); err != nil {
			return fmt.Errorf("next: %w", err)
		}
	}
	need := in.Need()
	var wants []protocol.ID
	for len(need) > 0 {
		batch := need[:min(len(need), protocol.MaxWantIDs)]
		need = need[len(batch):]
		ids := make([]protocol.ID, len(batch))
		for i, it := range batch {
			ids[i] = it.ID
		}
		wants = append(wants, ids...)
		s.add("initiator", protocol.FrameWant, protocol.EncodeIDs(ids))
	}
	for _, it := range in.Have() {
		s.add("initiator", protocol.FrameEnvelope, iniEnvs[it.ID])
	}
	for _, r := range ini.receipts {
		s.add("initiator", protocol.FrameEnvelope, r)
	}
	s.add("initiator", protocol.FrameDone, nil)
	for _, id := range wants {
		s.add("responder", protocol.FrameEnvelope, respEnvs[id])
	}
	for _, r := range resp.receipts {
		s.add("responder", protocol.FrameEnvelope, r)
	}
	s.add("responder", protocol.FrameDone, nil)
	return nil
}

// maxSketchTables mirrors the node's bound on tables per session.
const maxSketchTables = 8

// sketchPhase is 1.1.0's exchange of tables. It reports true when a table
// peeled and the session is over, false when the initiator falls back to
// range reconciliation.
func (s *session) sketchPhase(seed uint64, ini, resp syncSide, iniItems, respItems []reconcile.Item, iniEnvs, respEnvs map[protocol.ID][]byte) (bool, error) {
	keysOf := func(items []reconcile.Item) []uint64 {
		keys := make([]uint64, len(items))
		for i, it := range items {
			keys[i] = sketch.Key(seed, it.ID)
		}
		return keys
	}
	iniKeys, respKeys := keysOf(iniItems), keysOf(respItems)
	lookup := func(items []reconcile.Item, keys []uint64, k uint64) []protocol.ID {
		var ids []protocol.ID // in history order, since items are
		for i, key := range keys {
			if key == k {
				ids = append(ids, items[i].ID)
			}
		}
		return ids
	}
	d := len(iniItems) - len(respItems)
	cells, ok := sketch.CellsFor(max(d, -d))
	for tables := 1; ok && tables <= maxSketchTables; tables++ {
		mine := sketch.New(seed, cells)
		for _, k := range iniKeys {
			mine.Insert(k)
		}
		s.add("initiator", protocol.FrameSketch, sketch.EncodeTable(mine))
		diff := sketch.New(seed, mine.Len())
		for _, k := range respKeys {
			diff.Insert(k)
		}
		if err := diff.Subtract(mine); err != nil {
			return false, fmt.Errorf("subtract: %w", err)
		}
		estimate := diff.Estimate()
		peeled, err := diff.Peel()
		push, consistent := []protocol.ID(nil), err == nil
		for _, k := range peeled.Pos {
			ids := lookup(respItems, respKeys, k)
			consistent = consistent && len(ids) > 0
			push = append(push, ids...)
		}
		for _, k := range peeled.Neg {
			consistent = consistent && len(lookup(respItems, respKeys, k)) == 0
		}
		if !consistent {
			s.add("responder", protocol.FrameSketch, sketch.EncodeRetry(uint64(estimate)))
			cells, ok = sketch.Next(cells, min(estimate, sketch.MaxCells))
			continue
		}
		slices.SortFunc(push, historyOrder(respItems))
		for _, id := range push {
			s.add("responder", protocol.FrameEnvelope, respEnvs[id])
		}
		for _, r := range resp.receipts {
			s.add("responder", protocol.FrameEnvelope, r)
		}
		var wanted []protocol.ID
		for keys := peeled.Neg; len(keys) > 0; {
			batch := keys[:min(len(keys), protocol.MaxWantKeys)]
			keys = keys[len(batch):]
			s.add("responder", protocol.FrameWantKeys, protocol.EncodeKeys(batch))
			for _, k := range batch {
				wanted = append(wanted, lookup(iniItems, iniKeys, k)...)
			}
		}
		s.add("responder", protocol.FrameSketch, sketch.EncodeDecoded())
		slices.SortFunc(wanted, historyOrder(iniItems))
		for _, id := range wanted {
			s.add("initiator", protocol.FrameEnvelope, iniEnvs[id])
		}
		for _, r := range ini.receipts {
			s.add("initiator", protocol.FrameEnvelope, r)
		}
		s.add("initiator", protocol.FrameDone, nil)
		s.add("responder", protocol.FrameDone, nil)
		return true, nil
	}
	return false, nil
}

// historyOrder compares IDs by their items' places in items, which are in
// history order.
func historyOrder(items []reconcile.Item) func(a, b protocol.ID) int {
	pos := map[protocol.ID]int{}
	for i, it := range items {
		pos[it.ID] = i
	}
	return func(a, b protocol.ID) int { return pos[a] - pos[b] }
}

// gains returns the sorted IDs of the messages that to receives from from
// in a session: those from holds above the shared horizon and to lacks.
func gains(to, from syncSide) []hexBytes {
	h := max(to.horizon, from.horizon)
	have := map[protocol.ID]bool{}
	for _, e := range to.messages {
		have[e.ID()] = true
	}
	var out []hexBytes
	for _, e := range from.messages {
		if e.Lamport > h && !have[e.ID()] {
			id := e.ID()
			out = append(out, hexBytes(id[:]))
		}
	}
	slices.SortFunc(out, func(a, b hexBytes) int { return bytes.Compare(a, b) })
	return out
}
