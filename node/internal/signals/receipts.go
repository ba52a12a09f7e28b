package signals

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// deliveredEvery is how often a node acknowledges what it received: one
// delivered receipt per room per interval covers every message before it.
const deliveredEvery = 500 * time.Millisecond

// deliveredPerPeriod is how many other members a room may have before its
// delivered receipts slow down (see deliveredInterval).
const deliveredPerPeriod = 1

// maxStatusEvents bounds the message.status events one receipt produces.
const maxStatusEvents = 200

// marker is a peer's position in a room's history for one receipt kind.
type marker struct {
	lamport uint64
	id      protocol.ID
}

func (m marker) after(o marker) bool {
	if m.lamport != o.lamport {
		return m.lamport > o.lamport
	}
	return string(m.id[:]) > string(o.id[:])
}

func (m marker) item() *store.Item { return &store.Item{Lamport: m.lamport, ID: m.id} }

type markerKey struct {
	room string
	peer peer.ID
	kind string
}

// receiptState holds every known marker and the rooms owing a delivered
// receipt. Guarded by mu, which is also held while a marker is written so
// that markers reach the store in the order they were decided.
type receiptState struct {
	mu      sync.Mutex
	markers map[markerKey]marker
	due     map[string]bool
}

// loadReceipts restores every stored marker.
func (sig *Signals) loadReceipts(ctx context.Context) error {
	sig.receipts.markers = map[markerKey]marker{}
	sig.receipts.due = map[string]bool{}
	envs, err := sig.store.AllMarkers(ctx)
	if err != nil {
		return err
	}
	for _, data := range envs {
		env, err := protocol.DecodeStored(data)
		if err != nil {
			continue
		}
		b, err := protocol.DecodeReceipt(env)
		if err != nil {
			continue
		}
		id, _ := protocol.ParseID(b.UpTo)
		sig.receipts.markers[markerKey{env.Room, env.Author, b.Kind}] = marker{b.UpToLamport, id}
	}
	return nil
}

func (sig *Signals) marker(room string, p peer.ID, kind string) (marker, bool) {
	sig.receipts.mu.Lock()
	defer sig.receipts.mu.Unlock()
	m, ok := sig.receipts.markers[markerKey{room, p, kind}]
	return m, ok
}

// MarkRead moves the local user's read marker in room up to the message
// upTo. A marker never moves backwards: marking an older message changes
// nothing. It returns the marker now in force.
func (sig *Signals) MarkRead(ctx context.Context, room, upTo string) (string, error) {
	if err := sig.rooms.Joined(room); err != nil {
		return "", err
	}
	id, err := protocol.ParseID(upTo)
	if err != nil {
		return "", fault.Errorf(fault.CodeInvalid, "up_to: %w", err)
	}
	msg, err := sig.store.Message(ctx, id)
	if err != nil || msg.Room != room {
		return "", fault.Errorf(fault.CodeNotFound, "message %s is not in room %s", upTo, room)
	}
	if err := sig.sendReceipt(ctx, room, protocol.ReceiptRead, marker{msg.Lamport, id}); err != nil {
		return "", err
	}
	m, _ := sig.marker(room, sig.self, protocol.ReceiptRead)
	return m.id.String(), nil
}

// sendReceipt signs, stores and publishes the local user's marker, unless
// it would not move forward.
func (sig *Signals) sendReceipt(ctx context.Context, room, kind string, to marker) error {
	if cur, ok := sig.marker(room, sig.self, kind); ok && !to.after(cur) {
		return nil
	}
	body := protocol.ReceiptBody{Kind: kind, UpTo: to.id.String(), UpToLamport: to.lamport}
	env, err := sig.sender.Sign(room, protocol.KindReceipt, body)
	if err != nil {
		return err
	}
	changed, err := sig.applyMarker(ctx, env, body)
	if err != nil || !changed {
		return err
	}
	if err := sig.rooms.Joined(room); err != nil {
		return err
	}
	if err := sig.sender.Publish(ctx, room, env); err != nil && sig.ctx.Err() == nil {
		sig.log.Warn("publish receipt", "room", room, "err", err)
	}
	return nil
}

// OnReceipt applies a peer's marker.
func (sig *Signals) OnReceipt(ctx context.Context, env *protocol.Envelope, b protocol.ReceiptBody) {
	if _, err := sig.applyMarker(ctx, env, b); err != nil && ctx.Err() == nil {
		sig.log.Warn("store receipt", "room", env.Room, "err", err)
	}
}

// applyMarker stores a receipt if it moves its author's marker forward,
// with a receipt event and, for the local user's own messages it covers, a
// message.status event each.
func (sig *Signals) applyMarker(ctx context.Context, env *protocol.Envelope, b protocol.ReceiptBody) (bool, error) {
	id, err := protocol.ParseID(b.UpTo)
	if err != nil {
		return false, err
	}
	to := marker{b.UpToLamport, id}
	k := markerKey{env.Room, env.Author, b.Kind}
	rs := &sig.receipts
	rs.mu.Lock()
	defer rs.mu.Unlock()
	prev, had := rs.markers[k]
	if had && !to.after(prev) {
		return false, nil
	}
	rs.markers[k] = to
	events := []protocol.Event{{Type: protocol.EventReceipt, Room: env.Room, PeerID: env.Author.String(), Kind: b.Kind, UpTo: b.UpTo}}
	if env.Author != sig.self {
		var from *store.Item
		if had {
			from = prev.item()
		}
		own, err := sig.store.AuthoredAfter(ctx, env.Room, sig.self, from, to.item(), maxStatusEvents)
		if err != nil {
			return false, err
		}
		for _, m := range own {
			events = append(events, sig.statusEventLocked(env.Room, m))
		}
	}
	// The local user's own marker is on disk before it is published; a
	// peer's is written without waiting, so a burst of receipts never
	// holds up the room's read loop on the disk. A peer's marker lost in a
	// crash comes back with the next sync.
	own := env.Author == sig.self
	if err := sig.store.PutMarker(ctx, own, env.Room, env.Author.String(), b.Kind, env.Bytes(), events...); err != nil {
		if had {
			rs.markers[k] = prev
		} else {
			delete(rs.markers, k)
		}
		return false, err
	}
	return true, nil
}

// statusEventLocked counts the peers that have received and read m.
// Reading implies receiving. rs.mu must be held.
func (sig *Signals) statusEventLocked(room string, m protocol.Message) protocol.Event {
	id, _ := protocol.ParseID(m.ID)
	at := marker{m.Lamport, id}
	byPeer := map[peer.ID]string{}
	for k, mk := range sig.receipts.markers {
		if k.room != room || k.peer == sig.self || at.after(mk) {
			continue
		}
		if k.kind == protocol.ReceiptRead || byPeer[k.peer] == "" {
			byPeer[k.peer] = k.kind
		}
	}
	delivered, read := len(byPeer), 0
	for _, kind := range byPeer {
		if kind == protocol.ReceiptRead {
			read++
		}
	}
	status := protocol.MessageSent
	switch {
	case read > 0:
		status = protocol.MessageRead
	case delivered > 0:
		status = protocol.MessageDelivered
	}
	return protocol.Event{Type: protocol.EventMessageStatus, Room: room, ID: m.ID, Status: status, Delivered: &delivered, Read: &read}
}

// dueDelivered notes that room received messages to acknowledge.
func (sig *Signals) dueDelivered(room string) {
	sig.receipts.mu.Lock()
	sig.receipts.due[room] = true
	sig.receipts.mu.Unlock()
}

// RunDelivered sends one delivered receipt per room that received
// messages, up to the newest message stored, at most once per
// deliveredInterval of that room.
func (sig *Signals) RunDelivered(ctx context.Context) {
	t := time.NewTicker(deliveredEvery)
	defer t.Stop()
	pace := newPacer() // owned by this goroutine
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		sig.receipts.mu.Lock()
		due := slices.Collect(maps.Keys(sig.receipts.due))
		sig.receipts.mu.Unlock()
		var rooms []string
		for _, room := range due {
			if pace.due(room, now, sig.deliveredInterval(room)) {
				rooms = append(rooms, room)
			}
		}
		sig.receipts.mu.Lock()
		for _, room := range rooms {
			delete(sig.receipts.due, room)
		}
		sig.receipts.mu.Unlock()
		for _, room := range rooms {
			pace.sent(room, now)
			// Let the store catch up with what was queued, then acknowledge
			// the newest message.
			if err := sig.store.Flush(ctx); err != nil {
				return
			}
			msgs, _, err := sig.store.History(ctx, room, nil, 1)
			if err != nil || len(msgs) == 0 {
				continue
			}
			id, _ := protocol.ParseID(msgs[0].ID)
			if err := sig.sendReceipt(ctx, room, protocol.ReceiptDelivered, marker{msgs[0].Lamport, id}); err != nil && ctx.Err() == nil {
				sig.log.Debug("send delivered receipt", "room", room, "err", err)
			}
		}
	}
}

// deliveredInterval is deliveredEvery in a room of two, and grows with
// the number of other members (see roomsize.go), so that a whole room
// sends about two delivered receipts a second whatever its size. Every
// member verifies, stores and forwards every receipt: at the 100-member
// fanout benchmark's 10 messages a second, a budget of eight a second made
// receipts nearly as costly as the chat itself and saturated the machine
// (last-node p99 1.8 s), two a second did not (142 ms). In a large room a
// sender's delivered count therefore fills in over tens of seconds; read
// receipts, sent when the user reads, are not paced this way.
func (sig *Signals) deliveredInterval(room string) time.Duration {
	return deliveredEvery * time.Duration(stretch(max(1, sig.RoomSize(room)-1), deliveredPerPeriod))
}

// Unread counts the messages of room after the local read marker that
// others wrote.
func (sig *Signals) Unread(ctx context.Context, room string) (int, error) {
	var after *store.Item
	if m, ok := sig.marker(room, sig.self, protocol.ReceiptRead); ok {
		after = m.item()
	}
	return sig.store.CountAfter(ctx, room, after, sig.self)
}
