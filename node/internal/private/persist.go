package private

import (
	"context"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// Names of the role's values per room (node/store, /pv/<room>/<name>):
//
//	meta                          JSON meta: role, KEM private keys, settings
//	epoch/<number:16 hex>/<id>    a sealed.epoch envelope, in chain order
//	secret/<epoch id>             the 32-byte secret of an epoch held
//	invite/<invite id>            JSON invite (owner)
//	request/<peer id>             JSON join request awaiting approval (owner)
//
// A relay's room has epochs only: its chain, rebuilt on start.
const (
	nameMeta     = "meta"
	prefixEpoch  = "epoch/"
	prefixSecret = "secret/"
	prefixInvite = "invite/"
	prefixReq    = "request/"
)

// meta is a member's settings of one room.
type meta struct {
	Role        Role     `json:"role"`
	AutoApprove bool     `json:"auto_approve,omitempty"`
	DMPeer      peer.ID  `json:"dm_peer,omitempty"`
	Invite      string   `json:"invite,omitempty"` // the link a joiner used
	KEMs        []string `json:"kems"`             // hex X25519 private keys, current first
}

// invite is an invite the owner made, and whether it was revoked.
type invite struct {
	Link    string `json:"link"`
	Revoked bool   `json:"revoked,omitempty"`
	inv     *sealed.Invite
}

// storedRequest is a join request on disk.
type storedRequest struct {
	Peer   peer.ID `json:"peer"`
	Invite string  `json:"invite_id"`
	KEM    []byte  `json:"kem"`
	Name   string  `json:"name"`
}

func epochName(r *sealed.Record) string {
	return fmt.Sprintf("%s%016x/%s", prefixEpoch, r.Number, r.ID)
}

func secretName(id sealed.EpochID) string { return prefixSecret + id.String() }

func inviteName(id [16]byte) string { return prefixInvite + hex.EncodeToString(id[:]) }

func kemHex(k *ecdh.PrivateKey) string { return hex.EncodeToString(k.Bytes()) }

func (p *Private) saveMeta(ctx context.Context, r *room) error {
	b, err := json.Marshal(r.meta)
	if err != nil {
		return fmt.Errorf("encode meta of %s: %w", r.name, err)
	}
	return p.cfg.Store.PutPrivate(ctx, r.name, nameMeta, b)
}

// saveSecret stores the secret of epoch id once.
func (p *Private) saveSecret(ctx context.Context, r *room, id sealed.EpochID, secret [sealed.SecretSize]byte) error {
	if r.stored[id] {
		return nil
	}
	if err := p.cfg.Store.PutPrivate(ctx, r.name, secretName(id), secret[:]); err != nil {
		return fmt.Errorf("store epoch secret of %s: %w", r.name, err)
	}
	r.stored[id] = true
	return nil
}

func (p *Private) saveInvite(ctx context.Context, r *room, in *invite) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode invite: %w", err)
	}
	return p.cfg.Store.PutPrivate(ctx, r.name, inviteName(in.inv.ID()), b)
}

// Load restores every room from the store: meta and KEM keys, the secrets
// held (learned first, so replaying the chain adopts them), the chain's
// epochs in order, invites and pending join requests.
func (p *Private) Load(ctx context.Context) error {
	names, err := p.cfg.Store.PrivateRooms(ctx)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range names {
		if err := p.loadRoom(ctx, name); err != nil {
			return fmt.Errorf("load private room %s: %w", name, err)
		}
	}
	return nil
}

func (p *Private) loadRoom(ctx context.Context, name string) error {
	st := p.cfg.Store
	metas, err := st.PrivateValues(ctx, name, nameMeta)
	if err != nil {
		return err
	}
	var r *room
	if len(metas) == 0 {
		r = p.newRoom(name, meta{Role: RoleRelay}, nil)
	} else {
		var m meta
		if err := json.Unmarshal(metas[0].Value, &m); err != nil {
			return fmt.Errorf("meta: %w", err)
		}
		var kems []*ecdh.PrivateKey
		for _, h := range m.KEMs {
			b, err := hex.DecodeString(h)
			if err != nil {
				return fmt.Errorf("KEM key: %w", err)
			}
			k, err := ecdh.X25519().NewPrivateKey(b)
			if err != nil {
				return fmt.Errorf("KEM key: %w", err)
			}
			kems = append(kems, k)
		}
		r = p.newRoom(name, m, sealed.NewKeyring(name, p.self, kems...))
		secrets, err := st.PrivateValues(ctx, name, prefixSecret)
		if err != nil {
			return err
		}
		for _, v := range secrets {
			if len(v.Value) != sealed.SecretSize {
				return fmt.Errorf("secret %s of %d bytes", v.Name, len(v.Value))
			}
			r.stored[r.ring.Learn([sealed.SecretSize]byte(v.Value))] = true
		}
	}
	epochs, err := st.PrivateValues(ctx, name, prefixEpoch)
	if err != nil {
		return err
	}
	for _, v := range epochs {
		// Checked when it arrived; the chain checks it again as it replays.
		e, err := protocol.DecodeStored(v.Value)
		if err != nil {
			return fmt.Errorf("epoch %s: %w", v.Name, err)
		}
		if r.ring != nil {
			_, err = r.ring.AdmitEpoch(e)
		} else {
			_, _, err = r.chain.AdmitEpoch(e)
		}
		// A forged epoch was kept in the chain, unadopted, when it came.
		if err != nil && !errors.Is(err, sealed.ErrForgedEpoch) {
			return fmt.Errorf("replay epoch %s: %w", v.Name, err)
		}
		r.epochs = append(r.epochs, e)
		// When it first came is not kept: the grace window restarts with
		// the node, which errs on the side of accepting.
		if rec, derr := sealed.DecodeRecord(e.Body); derr == nil {
			r.seen[rec.ID] = seenEpoch{at: p.cfg.Now(), lamport: e.Lamport}
		}
	}
	if r.ring == nil {
		return nil
	}
	if err := p.loadAnnounced(ctx, r); err != nil {
		return err
	}
	return p.loadInvites(ctx, r)
}

func (p *Private) loadInvites(ctx context.Context, r *room) error {
	invs, err := p.cfg.Store.PrivateValues(ctx, r.name, prefixInvite)
	if err != nil {
		return err
	}
	for _, v := range invs {
		var in invite
		if err := json.Unmarshal(v.Value, &in); err != nil {
			return fmt.Errorf("invite %s: %w", v.Name, err)
		}
		if in.inv, err = sealed.ParseInvite(in.Link); err != nil {
			return fmt.Errorf("invite %s: %w", v.Name, err)
		}
		r.invites[in.inv.ID()] = &in
	}
	reqs, err := p.cfg.Store.PrivateValues(ctx, r.name, prefixReq)
	if err != nil {
		return err
	}
	for _, v := range reqs {
		var sr storedRequest
		if err := json.Unmarshal(v.Value, &sr); err != nil {
			return fmt.Errorf("join request %s: %w", v.Name, err)
		}
		req := &sealed.JoinRequest{Peer: sr.Peer, KEM: sr.KEM, Name: sr.Name}
		if id, err := hex.DecodeString(sr.Invite); err == nil && len(id) == 16 {
			req.InviteID = [16]byte(id)
		}
		r.requests[sr.Peer] = req
	}
	return nil
}

func (p *Private) saveRequest(ctx context.Context, r *room, req *sealed.JoinRequest) error {
	b, err := json.Marshal(storedRequest{Peer: req.Peer, Invite: hex.EncodeToString(req.InviteID[:]), KEM: req.KEM, Name: req.Name})
	if err != nil {
		return fmt.Errorf("encode join request: %w", err)
	}
	return p.cfg.Store.PutPrivate(ctx, r.name, prefixReq+req.Peer.String(), b)
}

func peerFromName(s string) (peer.ID, error) { return peer.Decode(s) }

// expired reports whether in is past its expiry at now.
func expired(in *invite, now time.Time) bool { return in.inv.Check(now) != nil }

// isHex reports whether s is lower-case hex, as invite IDs are written.
func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}
