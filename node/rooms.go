package node

import (
	"context"
	"errors"
	"sort"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// RoomInfo describes a joined room.
type RoomInfo struct {
	Name   string `json:"room"`
	Peers  int    `json:"peers"`
	Unread int    `json:"unread"`
}

// JoinRoom joins room and remembers it across restarts. Joining a room
// already joined does nothing.
func (n *Node) JoinRoom(ctx context.Context, name string) error { return n.rooms.Join(ctx, name) }

// LeaveRoom leaves room. Its history stays stored.
func (n *Node) LeaveRoom(ctx context.Context, name string) error { return n.rooms.Leave(ctx, name) }

// Rooms lists the joined rooms with how many peers are in each and how
// many messages are unread.
func (n *Node) Rooms() []RoomInfo {
	byRoom := n.rooms.PeersByRoom()
	out := make([]RoomInfo, 0, len(byRoom))
	for name, peers := range byRoom {
		out = append(out, RoomInfo{Name: name, Peers: len(peers)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		out[i].Unread, _ = n.signals.Unread(n.tasks.Context(), out[i].Name)
	}
	return out
}

// Send signs a message from the local user into room, stores it durably and
// publishes it. It returns only after the message is on disk, so a message
// Send reported is never lost. When clientMsgID was used before in the
// room, nothing is sent again: the earlier message is returned with
// created false.
func (n *Node) Send(ctx context.Context, room, text, clientMsgID string) (msg protocol.Message, created bool, err error) {
	if _, ok := n.private.Room(room); ok {
		return n.sendPrivate(ctx, room, text, clientMsgID)
	}
	return n.sender.Send(ctx, n.tasks.Context(), room, text, clientMsgID)
}

// History returns up to limit messages of room before the message with ID
// before (or the newest, when before is empty), oldest first, and whether
// older messages exist. Limit is clamped to 1..500; zero means 50.
func (n *Node) History(ctx context.Context, room, before string, limit int) ([]protocol.Message, bool, error) {
	if err := n.rooms.Joined(room); err != nil {
		return nil, false, err
	}
	switch {
	case limit == 0:
		limit = 50
	case limit < 0:
		return nil, false, Errorf(CodeInvalid, "limit must be positive")
	case limit > 500:
		limit = 500
	}
	var beforeID *protocol.ID
	if before != "" {
		id, err := protocol.ParseID(before)
		if err != nil {
			return nil, false, Errorf(CodeInvalid, "before: %w", err)
		}
		beforeID = &id
	}
	msgs, more, err := n.store.History(ctx, room, beforeID, limit)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, Errorf(CodeNotFound, "%w", err)
	}
	if err != nil {
		return nil, false, Errorf(CodeUnavailable, "read history: %w", err)
	}
	if msgs == nil {
		msgs = []protocol.Message{}
	}
	return msgs, more, nil
}
