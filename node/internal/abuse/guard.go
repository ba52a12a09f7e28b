package abuse

import (
	"github.com/libp2p/go-libp2p/core/peer"
)

// Guard applies the per-author rate limit to envelopes from peers and
// punishes the peers that forward beyond it. Every refusal is counted
// under the reason "rate_limited" through the func given to NewGuard. Its
// methods are safe for concurrent use: gossipsub's event loop and its
// validation workers call them.
type Guard struct {
	authors   AuthorLimits
	overLimit *OverLimit
	reject    func(reason string)
	refused   func(room string, from peer.ID)
}

// NewGuard returns a guard applying limit. reject counts a refusal by
// reason. refused is told of every refusal with the room and the peer
// that forwarded the envelope: a new author's first burst is small, so an
// honest backlog is mostly refused here and must come by sync instead
// (roomsync.Syncer.Refused). Neither may block: they run on gossipsub's
// event loop and validation workers.
func NewGuard(limit RateLimit, reject func(reason string), refused func(room string, from peer.ID)) *Guard {
	return &Guard{authors: NewAuthorLimits(limit), overLimit: NewOverLimit(limit), reject: reject, refused: refused}
}

// Exhausted reports whether author's bucket in room is empty, refusing
// (counting and noting from) when it is. It takes no token, so it can be
// asked before a signature is verified: a forger naming someone else as
// author cannot drain that author's bucket.
func (g *Guard) Exhausted(from peer.ID, room string, author peer.ID) bool {
	if !g.authors.Exhausted(room, author) {
		return false
	}
	g.refuse(from, room, author)
	return true
}

// Take takes a token from author's bucket in room for an envelope from,
// and reports whether there was one. Ask it only for verified envelopes.
func (g *Guard) Take(from peer.ID, room string, author peer.ID) bool {
	if g.authors.Allow(room, author) {
		return true
	}
	g.refuse(from, room, author)
	return false
}

// refuse counts a refused envelope and charges it to the peer that
// delivered it.
//
// Only a forwarder within its allowance (less than a penalty point) is
// handed on for a sync: an honest peer's burst comes whole that way,
// while a flooder past its allowance gets nothing more by sync than the
// periodic run would take.
func (g *Guard) refuse(from peer.ID, room string, author peer.ID) {
	g.reject("rate_limited")
	g.overLimit.NoteOverLimit(from, room, author)
	if g.overLimit.Score(from) > -1 {
		g.refused(room, from)
	}
}

// Score is from's application-specific gossipsub score (see OverLimit).
func (g *Guard) Score(from peer.ID) float64 { return g.overLimit.Score(from) }

// CutOff reports whether p is punished for flooding (see OverLimit.CutOff).
func (g *Guard) CutOff(p peer.ID) bool { return g.overLimit.CutOff(p) }
