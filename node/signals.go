package node

import (
	"context"

	"github.com/peerchat/peerchat/node/internal/signals"
)

// Member is one member of a room, as GET /v1/rooms/{room}/members shows it.
type Member = signals.Member

// Typing marks the local user as typing in room for a few seconds. It
// sends at most one signal every two seconds and reports whether this call
// sent one.
func (n *Node) Typing(ctx context.Context, room string) (bool, error) {
	return n.signals.Typing(ctx, room)
}

// SetPresence sets the local user's status ("online" or "away") and
// announces it at once.
func (n *Node) SetPresence(ctx context.Context, status string) error {
	return n.signals.SetPresence(ctx, status)
}

// Members lists the local user and every peer known in room, with status,
// last seen time and read marker.
func (n *Node) Members(ctx context.Context, room string) ([]Member, error) {
	return n.signals.Members(ctx, room)
}

// MarkRead moves the local user's read marker in room up to the message
// upTo. A marker never moves backwards: marking an older message changes
// nothing. It returns the marker now in force.
func (n *Node) MarkRead(ctx context.Context, room, upTo string) (string, error) {
	return n.signals.MarkRead(ctx, room, upTo)
}

// Unread counts the messages of room after the local read marker that
// others wrote.
func (n *Node) Unread(ctx context.Context, room string) (int, error) {
	return n.signals.Unread(ctx, room)
}
