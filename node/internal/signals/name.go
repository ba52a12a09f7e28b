package signals

import (
	"context"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

// The local user's display name goes with every presence and typing
// signal. It can change while the node runs (Node.SetName), so it has its
// own lock, apart from typing's and presence's: renaming never waits for
// them, nor they for it.

// SetName sets the local display name and announces it at once: the
// node's own event log gets a presence event with the new name (for its
// pages), and every joined room gets a presence signal, as a status
// change would, so members see the new name without waiting for the next
// renewal.
func (sig *Signals) SetName(ctx context.Context, name string) {
	sig.nameMu.Lock()
	sig.name = name
	sig.nameMu.Unlock()
	sig.presence.mu.Lock()
	status := sig.presence.status
	sig.presence.mu.Unlock()
	now := time.Now().UTC()
	sig.events.Append(ctx, protocol.Event{Type: protocol.EventPresence, PeerID: sig.self.String(), Name: name, Status: status, LastSeen: &now})
	for _, room := range sig.rooms.Names() {
		sig.announcePresence(room)
	}
}

// Name returns the local display name.
func (sig *Signals) Name() string {
	sig.nameMu.Lock()
	defer sig.nameMu.Unlock()
	return sig.name
}
