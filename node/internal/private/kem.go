package private

import (
	"context"
	"fmt"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// prefixKEM names, at the owner, the KEM keys members announced that no
// epoch lists yet: kem/<peer id> → the 32-byte public key.
const prefixKEM = "kem/"

// rotateKEM replaces the local user's KEM key for room after an epoch
// arrived wrapped to it: the new key is on disk before the announcement
// leaves, so a wrap to it can never find the key lost.
func (p *Private) rotateKEM(ctx context.Context, roomName string) error {
	p.mu.Lock()
	r, err := p.member(roomName)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	kem, pt, err := r.ring.RotateKEM()
	if err != nil {
		p.mu.Unlock()
		return err
	}
	r.meta.KEMs = append([]string{kemHex(kem)}, r.meta.KEMs...)
	err = p.saveMeta(ctx, r)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = p.cfg.Publisher.Publish(ctx, protocol.KindSealedKeys, roomName, func(h sealed.Header) ([]byte, error) {
		return p.Seal(h, pt)
	})
	if err != nil {
		return fmt.Errorf("announce new KEM key in %s: %w", roomName, err)
	}
	return nil
}

// noteKEM records, at the owner (of a direct room, the lower peer ID), a
// member's announced KEM key. Other members have nothing to do with it.
// The caller holds mu.
func (p *Private) noteKEM(r *room, e *protocol.Envelope, pt []byte) error {
	if r.chain.Owner() != p.self {
		return nil
	}
	if err := r.ring.NoteKEM(e, pt); err != nil {
		return err
	}
	pub := r.ring.Announced()[e.Author]
	return p.cfg.Store.PutPrivate(context.Background(), r.name, prefixKEM+e.Author.String(), pub)
}

// forgetAnnounced deletes the announced keys an epoch just listed. The
// caller holds mu.
func (p *Private) forgetAnnounced(ctx context.Context, r *room, listed []string) error {
	for _, name := range listed {
		if err := p.cfg.Store.DeletePrivate(ctx, r.name, name); err != nil {
			return err
		}
	}
	return nil
}

// loadAnnounced restores the owner's announced keys.
func (p *Private) loadAnnounced(ctx context.Context, r *room) error {
	vals, err := p.cfg.Store.PrivateValues(ctx, r.name, prefixKEM)
	if err != nil {
		return err
	}
	for _, v := range vals {
		id, err := peerFromName(v.Name[len(prefixKEM):])
		if err != nil {
			return fmt.Errorf("announced key %s: %w", v.Name, err)
		}
		r.ring.RestoreKEM(id, v.Value)
	}
	return nil
}
