package private

import (
	"context"
	"errors"
	"fmt"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// Outcome is what Accept made of an envelope.
type Outcome struct {
	// Opened lists the messages that opened: the envelope itself, and
	// any held envelope a new epoch unlocked, in the order they opened.
	Opened []Opened
	// Held is set when the envelope could not be opened yet (its epoch
	// has not arrived, or a joiner has not been let in) and is kept to
	// retry.
	Held bool
	// Joined is set when a joiner first holds the room (room.joined).
	Joined bool
	// Removed is set when a new epoch excludes the local user, who held
	// the one before.
	Removed bool
	// Request is a join request waiting for the owner's approval.
	Request *sealed.JoinRequest
	// Approved is a join request let in automatically.
	Approved *sealed.JoinRequest
}

// Opened is a sealed envelope with its plaintext: the JSON body of the
// inner kind, for intake to index and show as it does a public one.
type Opened struct {
	Envelope  *protocol.Envelope
	Plaintext []byte
	Epoch     uint64
}

// Check is the validator's question, answered without any room key: an
// epoch change must fit the room's chain, a sealed message must carry a
// write signature of a known epoch, a join request must have its layout.
// Ignore(err) tells which refusals must not penalise the forwarder. It
// changes nothing: Accept admits.
func (p *Private) Check(e *protocol.Envelope) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	chain := sealed.NewChain(e.Room)
	r, ok := p.rooms[e.Room]
	if ok {
		chain = r.chain
	}
	switch e.Kind {
	case protocol.KindSealedEpoch:
		_, err := chain.CheckEpoch(e)
		return err
	case protocol.KindSealedJoin:
		_, err := sealed.ParseJoinID(e.Body)
		return err
	default:
		rec, err := chain.CheckWrite(e)
		if err != nil {
			return err
		}
		return p.checkGrace(r, chain, rec, e)
	}
}

// checkGrace refuses an envelope of a superseded epoch that was written
// after its successor (by Lamport clock) and arrives after the grace
// window. One written before the successor is history, valid forever,
// however late sync brings it. The caller holds mu.
func (p *Private) checkGrace(r *room, chain *sealed.Chain, rec *sealed.Record, e *protocol.Envelope) error {
	if r == nil || p.cfg.Grace < 0 {
		return nil
	}
	next, ok := chain.Successor(rec.ID)
	if !ok {
		return nil
	}
	s, ok := r.seen[next.ID]
	if !ok || e.Lamport < s.lamport || p.cfg.Now().Sub(s.at) <= p.cfg.Grace {
		return nil
	}
	return fmt.Errorf("%w: epoch %d superseded at Lamport %d, envelope at %d", ErrSuperseded, rec.Number, s.lamport, e.Lamport)
}

// Accept takes a sealed envelope that passed Check and was stored: it
// admits epoch changes (and adopts their keys), opens messages, and
// handles join requests to rooms the local user owns. An error names why
// nothing (more) came of it; the envelope stays valid and stored.
func (p *Private) Accept(ctx context.Context, e *protocol.Envelope) (Outcome, error) {
	switch e.Kind {
	case protocol.KindSealedEpoch:
		p.mu.Lock()
		out, rotate, err := p.acceptEpoch(ctx, e)
		p.mu.Unlock()
		if rotate {
			// The secret came in a wrap to this KEM key: replace the key,
			// so that a later theft of it opens no later wrap.
			if rerr := p.rotateKEM(ctx, e.Room); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return out, err
	case protocol.KindSealedJoin:
		return p.acceptJoin(ctx, e)
	default:
		if !protocol.IsSealedKind(e.Kind) {
			return Outcome{}, fmt.Errorf("%w: %q is not sealed", protocol.ErrKind, e.Kind)
		}
		p.mu.Lock()
		out, err := p.acceptMessage(e)
		rekey := err == nil && e.Kind == protocol.KindSealedKeys && p.dmOnGenesis(e.Room)
		p.mu.Unlock()
		if rekey {
			// The other party of a direct room announced a KEM key: the
			// owner (the lower peer ID) moves the room off the secret
			// derived from the two identity keys.
			err = p.Rotate(ctx, e.Room)
		}
		return out, err
	}
}

// acceptEpoch admits an epoch, and says whether the local user must now
// rotate its KEM key. The caller holds mu.
func (p *Private) acceptEpoch(ctx context.Context, e *protocol.Envelope) (out Outcome, rotate bool, err error) {
	out, err = p.admitEpoch(ctx, e)
	r := p.rooms[e.Room]
	if err != nil || r == nil || r.ring == nil {
		return out, false, err
	}
	// Adopting an epoch may have dropped KEM keys the state no longer
	// lists; the meta on disk follows.
	if kems := r.ring.KEMs(); len(kems) != len(r.meta.KEMs) {
		r.meta.KEMs = r.meta.KEMs[:0]
		for _, k := range kems {
			r.meta.KEMs = append(r.meta.KEMs, kemHex(k))
		}
		if err := p.saveMeta(ctx, r); err != nil {
			return out, false, err
		}
	}
	return out, r.wrapped && r.meta.Role != RoleOwner, nil
}

// admitEpoch admits an epoch into its room. The caller holds mu.
func (p *Private) admitEpoch(ctx context.Context, e *protocol.Envelope) (Outcome, error) {
	var out Outcome
	r, ok := p.rooms[e.Room]
	if !ok {
		r = p.newRoom(e.Room, meta{Role: RoleRelay}, nil)
	}
	var a sealed.Adoption
	var err error
	heldHead := false
	if r.ring != nil {
		if h := r.chain.Head(); h != nil {
			_, heldHead = r.ring.Held(h.ID)
		}
		a, err = r.ring.AdmitEpoch(e)
	} else {
		a.Record, a.Fresh, err = r.chain.AdmitEpoch(e)
	}
	if err != nil && !(errors.Is(err, sealed.ErrForgedEpoch) && a.Record != nil) {
		return out, err
	}
	if a.Fresh {
		// A forged epoch is in the chain too: relays judged it by its
		// public part, and the chain must match theirs.
		if perr := p.cfg.Store.PutPrivate(ctx, r.name, epochName(a.Record), e.Bytes()); perr != nil {
			return out, fmt.Errorf("store epoch: %w", perr)
		}
		r.epochs = append(r.epochs, e)
		r.seen[a.Record.ID] = seenEpoch{at: p.cfg.Now(), lamport: e.Lamport}
	}
	if err != nil {
		return out, err
	}
	if r.ring == nil {
		return out, nil
	}
	r.wrapped = a.Wrapped
	if a.Held {
		keys, _ := r.ring.Held(a.Record.ID)
		if err := p.saveSecret(ctx, r, keys.ID, keys.Secret); err != nil {
			return out, err
		}
		// A shared-history joiner adopts earlier secrets too.
		for _, s := range r.ring.Secrets() {
			if err := p.saveSecret(ctx, r, sealed.DeriveEpoch(r.name, 0, s).ID, s); err != nil {
				return out, err
			}
		}
	}
	if a.Held && r.meta.Role == RoleJoining {
		r.meta.Role = RoleMember
		if err := p.saveMeta(ctx, r); err != nil {
			return out, err
		}
		out.Joined = true
	}
	if a.Fresh && !a.Held && heldHead {
		out.Removed = true
	}
	out.Opened = p.retryHeld(r)
	return out, nil
}

// dmOnGenesis reports whether room is a direct room the local user owns
// that is still on its genesis. The caller holds mu.
func (p *Private) dmOnGenesis(roomName string) bool {
	r, ok := p.rooms[roomName]
	if !ok || r.ring == nil || r.meta.Role != RoleDM || r.chain.Owner() != p.self {
		return false
	}
	h := r.chain.Head()
	return h != nil && h.Number == 0
}

// acceptMessage opens a sealed message, or holds it. The caller holds mu.
func (p *Private) acceptMessage(e *protocol.Envelope) (Outcome, error) {
	r, ok := p.rooms[e.Room]
	if !ok || r.ring == nil {
		return Outcome{}, nil // a relay's room: nothing to open
	}
	pt, rec, err := r.ring.Open(e)
	if err == nil && e.Kind == protocol.KindSealedKeys {
		return Outcome{}, p.noteKEM(r, e, pt)
	}
	if err != nil {
		if p.holdable(r, err) {
			if len(r.held) >= p.cfg.MaxHeld {
				r.held = r.held[1:]
			}
			r.held = append(r.held, e)
			return Outcome{Held: true}, err
		}
		return Outcome{}, err
	}
	return Outcome{Opened: []Opened{{Envelope: e, Plaintext: pt, Epoch: rec.Number}}}, nil
}

// holdable reports whether an envelope that did not open may open later:
// its epoch has not arrived, or the user is still joining (a room that
// shares its history hands earlier keys over with the add).
func (p *Private) holdable(r *room, err error) bool {
	return errors.Is(err, sealed.ErrUnknownEpoch) || errors.Is(err, sealed.ErrNoKey) && r.meta.Role == RoleJoining
}

// retryHeld opens what the room's held envelopes can now. The caller
// holds mu.
func (p *Private) retryHeld(r *room) []Opened {
	// noteKEM writes to disk; held announcements are rare.
	var opened []Opened
	keep := r.held[:0]
	for _, e := range r.held {
		pt, rec, err := r.ring.Open(e)
		switch {
		case err == nil && e.Kind == protocol.KindSealedKeys:
			_ = p.noteKEM(r, e, pt) // a late announcement; a failure only keeps the old key in use
		case err == nil:
			opened = append(opened, Opened{Envelope: e, Plaintext: pt, Epoch: rec.Number})
		case p.holdable(r, err):
			keep = append(keep, e)
		}
	}
	clear(r.held[len(keep):])
	r.held = keep
	return opened
}

// acceptJoin handles a join request to a room the local user owns: drops
// one for an unknown, revoked or expired invite before opening it, and
// lets its author in at once or keeps it for approval.
func (p *Private) acceptJoin(ctx context.Context, e *protocol.Envelope) (Outcome, error) {
	p.mu.Lock()
	r, ok := p.rooms[e.Room]
	if !ok || r.ring == nil || r.meta.Role != RoleOwner {
		p.mu.Unlock()
		return Outcome{}, nil // not ours to open
	}
	req, err := p.openJoin(r, e)
	if err != nil {
		p.mu.Unlock()
		return Outcome{}, err
	}
	if s, ok := r.ring.State(); ok && s.HasMember(req.Peer) {
		p.mu.Unlock()
		return Outcome{}, nil // already in: a copy of an old request
	}
	if !r.meta.AutoApprove {
		defer p.mu.Unlock()
		r.requests[req.Peer] = req
		if err := p.saveRequest(ctx, r, req); err != nil {
			return Outcome{}, err
		}
		return Outcome{Request: req}, nil
	}
	p.mu.Unlock()
	if err := p.add(ctx, e.Room, req); err != nil {
		return Outcome{}, err
	}
	return Outcome{Approved: req}, nil
}

// openJoin finds the invite of a join request and opens it. The caller
// holds mu.
func (p *Private) openJoin(r *room, e *protocol.Envelope) (*sealed.JoinRequest, error) {
	id, err := sealed.ParseJoinID(e.Body)
	if err != nil {
		return nil, err
	}
	in, ok := r.invites[id]
	switch {
	case !ok:
		return nil, ErrUnknownInvite
	case in.Revoked:
		return nil, ErrRevoked
	case expired(in, p.cfg.Now()):
		return nil, sealed.ErrInviteExpired
	}
	return sealed.OpenJoin(in.inv, r.ownerKEM(), e)
}

// Ignore reports whether a refusal by Check must not penalise the peer
// that forwarded the envelope: what it depends on may simply not have
// arrived yet, and sync brings it.
func Ignore(err error) bool {
	return errors.Is(err, sealed.ErrUnknownEpoch) || errors.Is(err, sealed.ErrUnknownParent) || errors.Is(err, ErrSuperseded)
}

// reasons maps each refusal to its counted label, most specific first.
var reasons = []struct {
	err   error
	label string
}{
	{sealed.ErrUnknownEpoch, "unknown_epoch"},
	{ErrSuperseded, "epoch_superseded"},
	{sealed.ErrWriteSignature, "write_signature"},
	{sealed.ErrNotOwner, "epoch_not_owner"},
	{sealed.ErrUnknownParent, "epoch_unknown_parent"},
	{sealed.ErrEpochNumber, "epoch_number"},
	{sealed.ErrFork, "epoch_fork"},
	{sealed.ErrRoomBinding, "epoch_room_binding"},
	{sealed.ErrForgedEpoch, "epoch_forged"},
	{sealed.ErrNoKey, "no_key"},
	{sealed.ErrOpen, "open"},
	{sealed.ErrAfterCutoff, "after_cutoff"},
	{ErrUnknownInvite, "invite_unknown"},
	{ErrRevoked, "invite_revoked"},
	{sealed.ErrInviteExpired, "invite_expired"},
	{sealed.ErrInvite, "invite"},
	{sealed.ErrJoin, "join"},
	{sealed.ErrVersion, "sealed_version"},
	{sealed.ErrMalformed, "sealed_malformed"},
}

// Reason returns the label a refusal is counted under
// (peerchat_envelopes_rejected_total{reason}), or "" for an error of
// another kind.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return ""
}
