package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/private"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// Private rooms and direct messages (docs/private-rooms.md): the facade
// over node/internal/private. The role keeps the keys; the sender signs,
// stores and publishes what it seals; intake opens what arrives.

// PrivateRoomOptions are a new private room's settings.
type PrivateRoomOptions struct {
	// SharedHistory hands a joiner every earlier epoch, so it reads the
	// room from its start; by default a joiner reads from its join on.
	SharedHistory bool
	// AutoApprove lets in whoever asks with a valid invite; otherwise
	// each request waits for ApproveJoin.
	AutoApprove bool
	// InviteTTL is how long the first invite is valid; zero means 7 days.
	InviteTTL time.Duration
}

// Invite is an invite link to a private room, with the ID that revokes
// it.
type Invite struct {
	Link      string    `json:"invite"`
	ID        string    `json:"id"`
	Room      string    `json:"room"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PrivateRoom describes a private room the local user is (or asked to
// be) a member of.
type PrivateRoom struct {
	Room  string `json:"room"`
	Name  string `json:"display_name,omitempty"` // from the encrypted room state
	Role  string `json:"role"`                   // owner, member, joining or dm
	DM    string `json:"dm_peer,omitempty"`      // the other party of a direct room
	Epoch uint64 `json:"epoch"`
	Held  bool   `json:"held"` // the local user can read and write now
}

// JoinRequest is a request to join a private room waiting for the
// owner's approval.
type JoinRequest struct {
	PeerID string `json:"peer_id"`
	Name   string `json:"name"`
}

func inviteOf(inv *sealed.Invite) Invite {
	return Invite{Link: inv.String(), ID: inv.IDString(), Room: inv.Room, ExpiresAt: inv.Expires}
}

// PrivateRooms are the node's private rooms and direct messages, end to
// end encrypted (docs/private-rooms.md). Node.Private returns them; a
// private room is otherwise joined, read and written like any room.
type PrivateRooms struct{ n *Node }

// Private returns the node's private rooms.
func (n *Node) Private() *PrivateRooms { return &PrivateRooms{n} }

// Create makes a private room owned by the local user, with
// display name name (seen by members only), joins its topic and returns
// it with its first invite.
func (pr *PrivateRooms) Create(ctx context.Context, name string, opts PrivateRoomOptions) (string, Invite, error) {
	if utf8.RuneCountInString(name) > protocol.MaxRoomNameLen {
		return "", Invite{}, Errorf(CodeInvalid, "display name is longer than %d characters", protocol.MaxRoomNameLen)
	}
	h := sealed.HistoryFromJoin
	if opts.SharedHistory {
		h = sealed.HistoryShared
	}
	room, inv, err := pr.n.private.Create(ctx, name, private.CreateOptions{History: h, AutoApprove: opts.AutoApprove, InviteTTL: opts.InviteTTL})
	if err != nil {
		return "", Invite{}, privateError("create private room", err)
	}
	return room, inviteOf(inv), nil
}

// Invite makes a new invite to a private room the local user owns, valid
// for ttl (zero means 7 days).
func (pr *PrivateRooms) Invite(ctx context.Context, room string, ttl time.Duration) (Invite, error) {
	if ttl < 0 {
		return Invite{}, Errorf(CodeInvalid, "ttl must not be negative")
	}
	inv, err := pr.n.private.Invite(ctx, room, ttl)
	if err != nil {
		return Invite{}, privateError("invite", err)
	}
	return inviteOf(inv), nil
}

// RevokeInvite revokes the invite with ID id: join requests made with it
// are refused from now on.
func (pr *PrivateRooms) RevokeInvite(ctx context.Context, room, id string) error {
	return privateError("revoke invite", pr.n.private.RevokeInvite(ctx, room, id))
}

// AcceptInvite asks to join the private room of link: the owner, live or
// on its next start, lets the local user in, which a room.joined event
// reports. It returns the room, whose topic is joined at once.
func (pr *PrivateRooms) AcceptInvite(ctx context.Context, link string) (string, error) {
	room, err := pr.n.private.AcceptInvite(ctx, link, pr.n.Name())
	if err != nil {
		return "", privateError("accept invite", err)
	}
	return room, nil
}

// JoinRequests lists the requests to join a room the local user owns
// that wait for approval.
func (pr *PrivateRooms) JoinRequests(room string) ([]JoinRequest, error) {
	reqs, err := pr.n.private.Requests(room)
	if err != nil {
		return nil, privateError("join requests", err)
	}
	out := make([]JoinRequest, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, JoinRequest{PeerID: r.Peer.String(), Name: r.Name})
	}
	return out, nil
}

// Approve lets in the peer whose request waits.
func (pr *PrivateRooms) Approve(ctx context.Context, room, peerID string) error {
	p, err := parsePeer(peerID)
	if err != nil {
		return err
	}
	return privateError("approve", pr.n.private.Approve(ctx, room, p))
}

// Refuse drops the peer's waiting request.
func (pr *PrivateRooms) Refuse(ctx context.Context, room, peerID string) error {
	p, err := parsePeer(peerID)
	if err != nil {
		return err
	}
	return privateError("refuse", pr.n.private.Refuse(ctx, room, p))
}

// Remove removes a member from a private room the local user owns:
// a fresh epoch for everyone else, so nothing written after it opens for
// the removed member.
func (pr *PrivateRooms) Remove(ctx context.Context, room, peerID string) error {
	p, err := parsePeer(peerID)
	if err != nil {
		return err
	}
	return privateError("remove member", pr.n.private.Remove(ctx, room, p))
}

// DM returns the direct room of the local user and peerID, opening it on
// first use. Both sides must open it (no unsolicited DMs); nothing needs
// to be exchanged first.
func (pr *PrivateRooms) DM(ctx context.Context, peerID string) (string, error) {
	p, err := parsePeer(peerID)
	if err != nil {
		return "", err
	}
	if p == pr.n.host.ID() {
		return "", Errorf(CodeInvalid, "a direct room needs another peer")
	}
	room, err := pr.n.private.DM(ctx, p)
	if err != nil {
		return "", privateError("direct room", err)
	}
	return room, nil
}

// List lists the private and direct rooms of the local user.
func (pr *PrivateRooms) List() []PrivateRoom {
	var out []PrivateRoom
	for _, in := range pr.n.private.Rooms() {
		r := PrivateRoom{Room: in.Room, Name: in.Name, Role: string(in.Role), Epoch: in.Epoch, Held: in.Held}
		if in.DMPeer != "" {
			r.DM = in.DMPeer.String()
		}
		out = append(out, r)
	}
	return out
}

// sendPrivate seals a message into a private room, and indexes its own
// plaintext, which only the local user and members can read. Unlike a
// public room's, a repeated clientMsgID is not detected: the private role
// keeps no client_msg_id index yet.
func (n *Node) sendPrivate(ctx context.Context, room, text, clientMsgID string) (protocol.Message, bool, error) {
	if err := protocol.ValidateText(text); err != nil {
		code := CodeInvalid
		if utf8.RuneCountInString(text) > protocol.MaxTextLen {
			code = CodeTooLarge
		}
		return protocol.Message{}, false, &Error{Code: code, Message: err.Error(), Err: err}
	}
	if len(clientMsgID) > protocol.MaxClientMsgIDLen {
		return protocol.Message{}, false, Errorf(CodeInvalid, "client_msg_id is longer than %d bytes", protocol.MaxClientMsgIDLen)
	}
	pt, err := json.Marshal(protocol.MessageBody{Text: text, AuthorName: n.Name(), ClientMsgID: clientMsgID})
	if err != nil {
		return protocol.Message{}, false, Errorf(CodeInternal, "encode message: %w", err)
	}
	env, err := n.private.Send(ctx, room, pt)
	if err != nil {
		return protocol.Message{}, false, privateError("send", err)
	}
	msg, err := protocol.MessageFromSealed(env, pt)
	if err != nil {
		return protocol.Message{}, false, Errorf(CodeInternal, "read back sealed message: %w", err)
	}
	if _, err := n.store.AddOpened(ctx, env, msg, true); err != nil {
		return protocol.Message{}, false, Errorf(CodeUnavailable, "store message: %w", err)
	}
	return msg, true, nil
}

// loadPrivate restores the private role's key state, and hands it again
// the stored sealed messages that did not open, before any room receives.
func loadPrivate(ctx context.Context, n *Node) error {
	if err := n.private.Load(ctx); err != nil {
		return fmt.Errorf("load private rooms: %w", err)
	}
	joined, err := n.store.JoinedRooms(ctx)
	if err != nil {
		return err
	}
	// Only a member has anything to open: a relay's start does not scan
	// every private room it stores.
	var rooms []string
	for _, r := range joined {
		if _, ok := n.private.Room(r); ok {
			rooms = append(rooms, r)
		}
	}
	if err := n.intake.Replay(ctx, rooms); err != nil {
		return fmt.Errorf("replay private rooms: %w", err)
	}
	return nil
}

func parsePeer(s string) (peer.ID, error) {
	p, err := peer.Decode(s)
	if err != nil {
		return "", Errorf(CodeInvalid, "peer ID %q: %w", s, err)
	}
	return p, nil
}

// privateError maps the private role's errors to the node's codes; an
// error that already has one keeps it. op names what failed.
func privateError(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	code := CodeInternal
	switch {
	case errors.Is(err, sealed.ErrNotAllowed):
		code = CodeConflict // not a member, already one, a direct room
	case errors.Is(err, private.ErrNotOwner):
		code = CodeForbidden
	case errors.Is(err, sealed.ErrNoKey):
		code = CodeForbidden // removed, or not let in yet
	case errors.Is(err, private.ErrUnknownRoom), errors.Is(err, private.ErrUnknownInvite), errors.Is(err, private.ErrNoRequest):
		code = CodeNotFound
	case errors.Is(err, sealed.ErrInviteExpired), errors.Is(err, private.ErrRevoked):
		code = CodeGone
	case errors.Is(err, sealed.ErrInvite), errors.Is(err, sealed.ErrJoin), errors.Is(err, sealed.ErrMalformed):
		code = CodeInvalid
	}
	return Errorf(code, "%s: %w", op, err)
}
