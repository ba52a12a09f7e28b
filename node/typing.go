package node

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

const (
	// typingInterval is the most often the local user's typing is
	// signalled; a UI may report every keystroke.
	typingInterval = 2 * time.Second
	// typingTTL is how long one signal shows the user as typing. It is
	// longer than the interval so a steady typist shows without flicker.
	typingTTL = 5 * time.Second
)

// typingState is the typing indicator's state, guarded by mu.
type typingState struct {
	mu       sync.Mutex
	lastSent map[string]time.Time  // room → when the local user's last signal went out
	until    map[syncKey]time.Time // (room, peer) → until when the peer shows as typing
}

// Typing marks the local user as typing in room for a few seconds. It
// sends at most one signal every two seconds and reports whether this call
// sent one.
func (n *Node) Typing(ctx context.Context, room string) (bool, error) {
	if _, err := n.joined(room); err != nil {
		return false, err
	}
	t := &n.typing
	t.mu.Lock()
	if time.Since(t.lastSent[room]) < typingInterval {
		t.mu.Unlock()
		return false, nil
	}
	t.lastSent[room] = time.Now()
	t.mu.Unlock()
	body := protocol.TypingBody{Name: n.cfg.Name, TTLMS: typingTTL.Milliseconds()}
	if err := n.publishSignal(ctx, room, protocol.KindTyping, body); err != nil {
		return false, err
	}
	return true, nil
}

// onTyping reports a peer's typing signal to the UIs. The end time is
// computed from the local clock, so a peer's clock cannot make the
// indicator stick, and a crashed peer's indicator ends by itself.
func (n *Node) onTyping(ctx context.Context, room string, rcv *received) {
	until := time.Now().Add(time.Duration(rcv.typing.TTLMS) * time.Millisecond).UTC()
	n.typing.mu.Lock()
	n.typing.until[syncKey{room, rcv.env.Author}] = until
	n.typing.mu.Unlock()
	n.noteName(rcv.env.Author, rcv.typing.Name)
	n.appendEvent(ctx, protocol.Event{
		Type: protocol.EventTyping, Room: room, PeerID: rcv.env.Author.String(),
		Name: rcv.typing.Name, Until: &until,
	})
}

// clearTyping ends a peer's typing indicator at once when their message
// arrives, with a typing event whose end time is now.
func (n *Node) clearTyping(ctx context.Context, room string, p peer.ID) {
	k := syncKey{room, p}
	n.typing.mu.Lock()
	until, ok := n.typing.until[k]
	delete(n.typing.until, k)
	n.typing.mu.Unlock()
	if !ok || time.Now().After(until) {
		return
	}
	now := time.Now().UTC()
	n.appendEvent(ctx, protocol.Event{
		Type: protocol.EventTyping, Room: room, PeerID: p.String(), Name: n.peerName(p), Until: &now,
	})
}

// appendEvent logs an event that needs no durability of its own.
func (n *Node) appendEvent(ctx context.Context, ev protocol.Event) {
	if err := n.store.AppendEvents(ctx, false, ev); err != nil && ctx.Err() == nil {
		n.log.Warn("append event", "type", ev.Type, "err", err)
	}
}

func (n *Node) peerName(p peer.ID) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.names[p]
}
