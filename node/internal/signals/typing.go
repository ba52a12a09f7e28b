package signals

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
	// TypingTTL is how long one signal shows the user as typing. It is
	// longer than the interval so a steady typist shows without flicker.
	TypingTTL = 5 * time.Second
)

// typingState is the typing indicator's state, guarded by mu.
type typingState struct {
	mu       sync.Mutex
	lastSent map[string]time.Time  // room → when the local user's last signal went out
	until    map[peerKey]time.Time // (room, peer) → until when the peer shows as typing
}

// Typing marks the local user as typing in room for a few seconds. It
// sends at most one signal every two seconds and reports whether this call
// sent one.
func (sig *Signals) Typing(ctx context.Context, room string) (bool, error) {
	if err := sig.rooms.Joined(room); err != nil {
		return false, err
	}
	t := &sig.typing
	t.mu.Lock()
	if time.Since(t.lastSent[room]) < typingInterval {
		t.mu.Unlock()
		return false, nil
	}
	t.lastSent[room] = time.Now()
	t.mu.Unlock()
	body := protocol.TypingBody{Name: sig.Name(), TTLMS: TypingTTL.Milliseconds()}
	if err := sig.sender.Signal(ctx, room, protocol.KindTyping, body); err != nil {
		return false, err
	}
	return true, nil
}

// OnTyping reports a peer's typing signal to the UIs. The end time is
// computed from the local clock, so a peer's clock cannot make the
// indicator stick, and a crashed peer's indicator ends by itself.
func (sig *Signals) OnTyping(ctx context.Context, env *protocol.Envelope, b protocol.TypingBody) {
	until := time.Now().Add(time.Duration(b.TTLMS) * time.Millisecond).UTC()
	sig.typing.mu.Lock()
	sig.typing.until[peerKey{env.Room, env.Author}] = until
	sig.typing.mu.Unlock()
	sig.names.Note(env.Author, b.Name)
	sig.events.Append(ctx, protocol.Event{
		Type: protocol.EventTyping, Room: env.Room, PeerID: env.Author.String(),
		Name: b.Name, Until: &until,
	})
}

// OnMessage acts on a peer's message in room: it ends the author's typing
// indicator and makes the room owe a delivered receipt.
func (sig *Signals) OnMessage(ctx context.Context, room string, author peer.ID) {
	sig.clearTyping(ctx, room, author)
	sig.dueDelivered(room)
}

// clearTyping ends a peer's typing indicator at once when their message
// arrives, with a typing event whose end time is now.
func (sig *Signals) clearTyping(ctx context.Context, room string, p peer.ID) {
	k := peerKey{room, p}
	sig.typing.mu.Lock()
	until, ok := sig.typing.until[k]
	delete(sig.typing.until, k)
	sig.typing.mu.Unlock()
	if !ok || time.Now().After(until) {
		return
	}
	now := time.Now().UTC()
	sig.events.Append(ctx, protocol.Event{
		Type: protocol.EventTyping, Room: room, PeerID: p.String(), Name: sig.names.Name(p), Until: &now,
	})
}
