package private

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// DefaultInviteTTL is how long an invite is valid unless asked otherwise.
const DefaultInviteTTL = 7 * 24 * time.Hour

// CreateOptions are a new room's settings.
type CreateOptions struct {
	History sealed.History // default from-join
	// AutoApprove lets in whoever asks with a valid invite, without the
	// owner's click.
	AutoApprove bool
	InviteTTL   time.Duration // the first invite's; default DefaultInviteTTL
}

// Create makes a private room owned by the local user with display name
// name: it stores the owner's KEM key and the genesis secret before
// publishing the genesis, so a crash cannot leave a published room whose
// key is lost, and returns the room with its first invite.
func (p *Private) Create(ctx context.Context, name string, opts CreateOptions) (string, *sealed.Invite, error) {
	if opts.History == "" {
		opts.History = sealed.HistoryFromJoin
	}
	kem, err := sealed.NewKEMKey()
	if err != nil {
		return "", nil, err
	}
	ring, body, err := sealed.CreateRoom(p.self, kem, name, opts.History)
	if err != nil {
		return "", nil, fmt.Errorf("create private room: %w", err)
	}
	p.ops.Lock()
	defer p.ops.Unlock()
	p.mu.Lock()
	r := p.newRoom(ring.Room(), meta{Role: RoleOwner, AutoApprove: opts.AutoApprove, KEMs: []string{kemHex(kem)}}, ring)
	err = p.saveMeta(ctx, r)
	if err == nil {
		err = p.saveLearned(ctx, r, body)
	}
	p.mu.Unlock()
	if err != nil {
		return "", nil, err
	}
	if err := p.publishEpoch(ctx, r.name, func(sealed.Header) ([]byte, error) { return body, nil }); err != nil {
		return "", nil, err
	}
	inv, err := p.Invite(ctx, r.name, opts.InviteTTL)
	if err != nil {
		return "", nil, err
	}
	return r.name, inv, nil
}

// Invite makes a new invite to room, valid for ttl (DefaultInviteTTL when
// zero), with relay hints for a joiner that knows no peer of the room.
func (p *Private) Invite(ctx context.Context, roomName string, ttl time.Duration, relays ...string) (*sealed.Invite, error) {
	if ttl <= 0 {
		ttl = DefaultInviteTTL
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, err := p.owned(roomName)
	if err != nil {
		return nil, err
	}
	inv, err := sealed.NewInvite(r.name, p.self, r.ownerKEM().PublicKey().Bytes(), p.cfg.Now().Add(ttl), relays...)
	if err != nil {
		return nil, fmt.Errorf("make invite: %w", err)
	}
	in := &invite{Link: inv.String(), inv: inv}
	if err := p.saveInvite(ctx, r, in); err != nil {
		return nil, err
	}
	r.invites[inv.ID()] = in
	return inv, nil
}

// RevokeInvite revokes the invite of room whose ID (hex) is id: join
// requests made with it are refused from now on.
func (p *Private) RevokeInvite(ctx context.Context, roomName, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, err := p.owned(roomName)
	if err != nil {
		return err
	}
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) != 16 || !isHex(id) {
		return fmt.Errorf("%w: %q", ErrUnknownInvite, id)
	}
	in, ok := r.invites[[16]byte(raw)]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownInvite, id)
	}
	in.Revoked = true
	return p.saveInvite(ctx, r, in)
}

// Requests lists the join requests of room awaiting the owner's approval.
func (p *Private) Requests(roomName string) ([]sealed.JoinRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, err := p.owned(roomName)
	if err != nil {
		return nil, err
	}
	var out []sealed.JoinRequest
	for _, req := range r.requests {
		out = append(out, *req)
	}
	slices.SortFunc(out, func(a, b sealed.JoinRequest) int { return compareIDs(a.Peer, b.Peer) })
	return out, nil
}

// Approve lets in the peer whose join request is pending: an add epoch
// with a wrap to the KEM key it sent.
func (p *Private) Approve(ctx context.Context, roomName string, who peer.ID) error {
	p.mu.Lock()
	r, err := p.owned(roomName)
	var req *sealed.JoinRequest
	if err == nil {
		if req = r.requests[who]; req == nil {
			err = fmt.Errorf("%w: %s in %s", ErrNoRequest, who, roomName)
		}
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return p.add(ctx, roomName, req)
}

// Refuse drops a pending join request. The joiner is not told: a refusal
// envelope is not part of this version (docs/private-rooms.md).
func (p *Private) Refuse(ctx context.Context, roomName string, who peer.ID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, err := p.owned(roomName)
	if err != nil {
		return err
	}
	if r.requests[who] == nil {
		return fmt.Errorf("%w: %s in %s", ErrNoRequest, who, roomName)
	}
	delete(r.requests, who)
	return p.cfg.Store.DeletePrivate(ctx, r.name, prefixReq+who.String())
}

// add publishes the add epoch that lets req's author in, and forgets the
// request.
func (p *Private) add(ctx context.Context, roomName string, req *sealed.JoinRequest) error {
	err := p.changeEpoch(ctx, roomName, func(k *sealed.Keyring, _ sealed.Header) ([]byte, error) {
		return k.Add(sealed.Member{Peer: req.Peer, KEM: req.KEM})
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.rooms[roomName]; ok && r.requests[req.Peer] != nil {
		delete(r.requests, req.Peer)
		return p.cfg.Store.DeletePrivate(ctx, r.name, prefixReq+req.Peer.String())
	}
	return nil
}

// Remove removes a member from room and rekeys: a fresh secret wrapped to
// every remaining member. The member's cutoff is the removal's own Lamport
// clock, above everything the owner has seen, so what it sent before
// stays readable and anything it backdates into old epochs later does
// not.
func (p *Private) Remove(ctx context.Context, roomName string, who peer.ID) error {
	return p.changeEpoch(ctx, roomName, func(k *sealed.Keyring, h sealed.Header) ([]byte, error) {
		return k.Remove(sealed.Removal{Peer: who, Cutoff: h.Lamport})
	})
}

// Rotate draws a fresh secret for the same members.
func (p *Private) Rotate(ctx context.Context, roomName string) error {
	return p.changeEpoch(ctx, roomName, func(k *sealed.Keyring, _ sealed.Header) ([]byte, error) { return k.Rotate() })
}

// changeEpoch builds an epoch change on room's head with build, stores its
// secret, publishes it and admits it, all under ops so no second change
// builds on the same head.
func (p *Private) changeEpoch(ctx context.Context, roomName string, build func(*sealed.Keyring, sealed.Header) ([]byte, error)) error {
	p.ops.Lock()
	defer p.ops.Unlock()
	return p.publishEpoch(ctx, roomName, func(h sealed.Header) ([]byte, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		r, err := p.owned(roomName)
		if err != nil {
			return nil, err
		}
		var listed []string
		for id := range r.ring.Announced() {
			listed = append(listed, prefixKEM+id.String())
		}
		body, err := build(r.ring, h)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotOwner, err)
		}
		if err := p.saveLearned(ctx, r, body); err != nil {
			return nil, err
		}
		return body, p.forgetAnnounced(ctx, r, listed)
	})
}

// publishEpoch publishes an epoch body and admits the envelope locally.
// The caller holds ops.
func (p *Private) publishEpoch(ctx context.Context, roomName string, body func(sealed.Header) ([]byte, error)) error {
	e, err := p.cfg.Publisher.Publish(ctx, protocol.KindSealedEpoch, roomName, body)
	if err != nil {
		return fmt.Errorf("publish epoch of %s: %w", roomName, err)
	}
	if _, err := p.Accept(ctx, e); err != nil {
		return fmt.Errorf("admit own epoch of %s: %w", roomName, err)
	}
	return nil
}

// saveLearned stores the secret of the epoch body the keyring just built.
func (p *Private) saveLearned(ctx context.Context, r *room, body []byte) error {
	rec, err := sealed.DecodeRecord(body)
	if err != nil {
		return fmt.Errorf("own epoch record: %w", err)
	}
	secret, ok := r.ring.Learned(rec.ID)
	if !ok {
		return fmt.Errorf("own epoch %s: secret not learned", rec.ID)
	}
	return p.saveSecret(ctx, r, rec.ID, secret)
}

// owned returns a room the local user owns: an owned room, or a direct
// room where it has the lower peer ID. The caller holds mu.
func (p *Private) owned(name string) (*room, error) {
	r, err := p.member(name)
	if err != nil {
		return nil, err
	}
	if r.meta.Role != RoleOwner && !(r.meta.Role == RoleDM && r.chain.Owner() == p.self) {
		return nil, fmt.Errorf("%w: %s", ErrNotOwner, name)
	}
	return r, nil
}

func compareIDs(a, b peer.ID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
