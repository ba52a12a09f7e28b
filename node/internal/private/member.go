package private

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// AcceptInvite starts joining the room of link under display name name:
// it keeps a fresh KEM key for the room and publishes a sealed.join to the
// owner, which relays store until the owner reads it. The room is
// RoleJoining until the owner's add epoch arrives (Accept reports
// Joined). The node must subscribe to the room's topic to receive it.
func (p *Private) AcceptInvite(ctx context.Context, link, name string) (string, error) {
	inv, err := sealed.ParseInvite(link)
	if err != nil {
		return "", err
	}
	if err := inv.Check(p.cfg.Now()); err != nil {
		return "", err
	}
	if inv.Owner == p.self {
		return "", fmt.Errorf("%w: the owner's own invite", sealed.ErrJoin)
	}
	p.mu.Lock()
	r, ok := p.rooms[inv.Room]
	if ok && r.ring != nil && r.meta.Role != RoleJoining {
		if _, held := r.ring.HeadKeys(); held {
			p.mu.Unlock()
			return inv.Room, nil // already a member
		}
		// Removed earlier: ask again, with the current KEM key.
		r.meta.Role = RoleJoining
		r.meta.Invite = link
	}
	if !ok || r.ring == nil {
		kem, err := sealed.NewKEMKey()
		if err != nil {
			p.mu.Unlock()
			return "", err
		}
		chain := r
		r = p.newRoom(inv.Room, meta{Role: RoleJoining, Invite: link, KEMs: []string{kemHex(kem)}}, sealed.NewKeyring(inv.Room, p.self, kem))
		if chain != nil { // a relay's chain of this room: replay it into the keyring
			p.replayChain(chain, r)
		}
	}
	err = p.saveMeta(ctx, r)
	kemPub := r.ring.KEMs()[0].PublicKey().Bytes()
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	_, err = p.cfg.Publisher.Publish(ctx, protocol.KindSealedJoin, inv.Room, func(h sealed.Header) ([]byte, error) {
		return sealed.NewJoin(inv, p.self, kemPub, name)
	})
	if err != nil {
		return "", fmt.Errorf("publish join request: %w", err)
	}
	return inv.Room, nil
}

// replayChain admits into r's keyring the epochs that a relay's chain of
// the same room (old) admitted before the user joined. The caller holds
// mu.
func (p *Private) replayChain(old, r *room) {
	for _, e := range old.epochs {
		// A forged epoch is in the relay's chain too, unadopted.
		if a, err := r.ring.AdmitEpoch(e); a.Record != nil && (err == nil || errors.Is(err, sealed.ErrForgedEpoch)) {
			r.epochs = append(r.epochs, e)
			r.seen[a.Record.ID] = old.seen[a.Record.ID]
		}
	}
}

// DM returns the direct room of the local user and other, creating it on
// first use: both sides derive the same room and epoch-0 secret, and each
// publishes the (identical) genesis, so whichever arrives first opens the
// room for both.
func (p *Private) DM(ctx context.Context, other peer.ID) (string, error) {
	d, err := sealed.DeriveDM(p.cfg.Key, other)
	if err != nil {
		return "", err
	}
	p.ops.Lock()
	defer p.ops.Unlock()
	p.mu.Lock()
	if r, ok := p.rooms[d.Room]; ok && r.ring != nil {
		p.mu.Unlock()
		return d.Room, nil
	}
	kem, err := sealed.NewKEMKey()
	if err != nil {
		p.mu.Unlock()
		return "", err
	}
	ring, body, err := d.Genesis(p.self, kem)
	if err != nil {
		p.mu.Unlock()
		return "", fmt.Errorf("direct room genesis: %w", err)
	}
	r := p.newRoom(d.Room, meta{Role: RoleDM, DMPeer: other, KEMs: []string{kemHex(kem)}}, ring)
	err = p.saveMeta(ctx, r)
	if err == nil {
		err = p.saveLearned(ctx, r, body)
	}
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	if err := p.publishEpoch(ctx, d.Room, func(sealed.Header) ([]byte, error) { return body, nil }); err != nil {
		return "", err
	}
	if d.Parties[0] == p.self {
		return d.Room, nil
	}
	// The other party owns the direct room's later epochs: announce the
	// KEM key it is to wrap the first fresh secret to.
	_, err = p.cfg.Publisher.Publish(ctx, protocol.KindSealedKeys, d.Room, func(h sealed.Header) ([]byte, error) {
		return p.Seal(h, sealed.KeysPlaintext(kem.PublicKey().Bytes()))
	})
	if err != nil {
		return "", fmt.Errorf("announce KEM key in %s: %w", d.Room, err)
	}
	return d.Room, nil
}

// Seal seals plaintext (the JSON body of the inner kind) for an envelope
// of the local user with header h, in the head epoch of h.Room: the seam
// the sender calls between picking the clock and signing.
func (p *Private) Seal(h sealed.Header, plaintext []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, err := p.member(h.Room)
	if err != nil {
		return nil, err
	}
	return r.ring.Seal(h, plaintext)
}

// Send seals plaintext as a sealed.message of the local user in room and
// publishes it through the Publisher.
func (p *Private) Send(ctx context.Context, roomName string, plaintext []byte) (*protocol.Envelope, error) {
	e, err := p.cfg.Publisher.Publish(ctx, protocol.KindSealedMessage, roomName, func(h sealed.Header) ([]byte, error) {
		return p.Seal(h, plaintext)
	})
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", roomName, err)
	}
	return e, nil
}
