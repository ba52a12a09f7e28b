package sealed

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// Chain is what anyone, keys or not, can know of a private room's epochs:
// who owns it, and each epoch's number, parent and public write key. A
// relay keeps one per private room to accept only owner-written epoch
// changes chained to a known parent, and only sealed envelopes whose
// write signature verifies under their epoch's write key. Members keep
// one inside their Keyring. It is not safe for concurrent use.
type Chain struct {
	room     string
	owner    peer.ID
	dm       bool
	epochs   map[EpochID]*Record
	byNumber map[uint64]EpochID
	head     *Record
}

// NewChain returns the empty chain of room.
func NewChain(room string) *Chain {
	return &Chain{room: room, epochs: map[EpochID]*Record{}, byNumber: map[uint64]EpochID{}}
}

// Room returns the room's name.
func (c *Chain) Room() string { return c.room }

// Owner returns who may write epoch changes after the genesis: the owner
// an owned room's name commits to, or for a direct room the party with the
// lower peer ID. It is empty until the genesis is admitted.
func (c *Chain) Owner() peer.ID { return c.owner }

// IsDM reports whether the room is a direct room.
func (c *Chain) IsDM() bool { return c.dm }

// Head returns the epoch of the highest number, or nil before the genesis.
func (c *Chain) Head() *Record { return c.head }

// Epoch returns the admitted epoch of id.
func (c *Chain) Epoch(id EpochID) (*Record, bool) {
	r, ok := c.epochs[id]
	return r, ok
}

// Successor returns the admitted epoch that follows epoch id. A relay
// that keeps a grace window for envelopes of superseded epochs (written
// by members who were offline during a rekey) starts it when the
// successor is first admitted; the window is the node's policy, the
// chain keeps no clock.
func (c *Chain) Successor(id EpochID) (*Record, bool) {
	r, ok := c.epochs[id]
	if !ok {
		return nil, false
	}
	next, ok := c.byNumber[r.Number+1]
	if !ok {
		return nil, false
	}
	return c.epochs[next], true
}

// Len returns how many epochs are admitted.
func (c *Chain) Len() int { return len(c.epochs) }

// AdmitEpoch checks a sealed.epoch envelope (already verified by
// protocol.Decode) against the chain and adds it. fresh is false for a
// copy of an epoch already admitted, which is valid but changes nothing.
// Its errors wrap ErrUnknownParent (Ignore: sync may bring the parent) or
// one of the Reject reasons.
func (c *Chain) AdmitEpoch(e *protocol.Envelope) (r *Record, fresh bool, err error) {
	r, dup, err := c.checkEpoch(e)
	if err != nil {
		return nil, false, err
	}
	if dup != nil {
		return dup, false, nil
	}
	c.epochs[r.ID] = r
	c.byNumber[r.Number] = r.ID
	if c.head == nil || r.Number > c.head.Number {
		c.head = r
	}
	switch {
	case r.Reason == ReasonDM:
		c.dm, c.owner = true, r.Parties[0]
	case r.Number == 0:
		c.owner = e.Author
	}
	return r, true, nil
}

// CheckEpoch is AdmitEpoch without the adding: what a gossip validator
// asks before the envelope is stored. A copy of an admitted epoch passes.
func (c *Chain) CheckEpoch(e *protocol.Envelope) (*Record, error) {
	r, dup, err := c.checkEpoch(e)
	if dup != nil {
		return dup, nil
	}
	return r, err
}

// checkEpoch returns the record of e if it may be added, or the admitted
// record it duplicates.
func (c *Chain) checkEpoch(e *protocol.Envelope) (r, dup *Record, err error) {
	if e.Kind != protocol.KindSealedEpoch {
		return nil, nil, fmt.Errorf("%w: %q is not an epoch", protocol.ErrKind, e.Kind)
	}
	if e.Room != c.room {
		return nil, nil, fmt.Errorf("%w: %q, expected %q", protocol.ErrWrongRoom, e.Room, c.room)
	}
	if r, err = DecodeRecord(e.Body); err != nil {
		return nil, nil, err
	}
	if r.Number == 0 {
		if err := c.checkGenesis(r, e.Author); err != nil {
			return nil, nil, err
		}
	} else {
		if c.owner == "" {
			return nil, nil, fmt.Errorf("%w: epoch %d before the genesis", ErrUnknownParent, r.Number)
		}
		if e.Author != c.owner {
			return nil, nil, fmt.Errorf("%w: epoch %d by %s", ErrNotOwner, r.Number, e.Author)
		}
		parent, ok := c.epochs[r.Parent]
		if !ok {
			return nil, nil, fmt.Errorf("%w: epoch %d names parent %s", ErrUnknownParent, r.Number, r.Parent)
		}
		if r.Number != parent.Number+1 {
			return nil, nil, fmt.Errorf("%w: epoch %d after epoch %d", ErrEpochNumber, r.Number, parent.Number)
		}
	}
	// One epoch per number: a copy is fine, another is a fork, and the
	// first seen is kept so that a node never switches keys under its
	// members' feet.
	if id, ok := c.byNumber[r.Number]; ok {
		if id == r.ID {
			return nil, c.epochs[id], nil
		}
		return nil, nil, fmt.Errorf("%w: epoch %d is %s, not %s", ErrFork, r.Number, id, r.ID)
	}
	if _, ok := c.epochs[r.ID]; ok {
		return nil, nil, fmt.Errorf("%w: epoch ID %s reused", ErrFork, r.ID)
	}
	return r, nil, nil
}

func (c *Chain) checkGenesis(r *Record, author peer.ID) error {
	switch r.Reason {
	case ReasonGenesis:
		if RoomName(author, r.Salt) != c.room {
			return fmt.Errorf("%w: salt and author %s do not hash to %s", ErrRoomBinding, author, c.room)
		}
	case ReasonDM:
		if author != r.Parties[0] && author != r.Parties[1] {
			return fmt.Errorf("%w: direct-room genesis by %s, not a party", ErrNotOwner, author)
		}
		if dmRoomName(r.Parties[0], r.Parties[1], r.Salt) != c.room {
			return fmt.Errorf("%w: parties and salt do not hash to %s", ErrRoomBinding, c.room)
		}
	}
	return nil
}

// CheckWrite checks a sealed envelope other than an epoch change or a join
// request: its body's epoch must be admitted (else ErrUnknownEpoch:
// Ignore), and its write signature must verify under that epoch's write
// key (else ErrWriteSignature: Reject). It returns the epoch.
func (c *Chain) CheckWrite(e *protocol.Envelope) (*Record, error) {
	if e.Kind == protocol.KindSealedEpoch || e.Kind == protocol.KindSealedJoin || !protocol.IsSealedKind(e.Kind) {
		return nil, fmt.Errorf("%w: %q carries no write signature", protocol.ErrKind, e.Kind)
	}
	if e.Room != c.room {
		return nil, fmt.Errorf("%w: %q, expected %q", protocol.ErrWrongRoom, e.Room, c.room)
	}
	b, err := ParseBody(e.Body)
	if err != nil {
		return nil, err
	}
	r, ok := c.epochs[b.Epoch]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownEpoch, b.Epoch)
	}
	if err := b.VerifyWrite(HeaderOf(e), r.WritePub); err != nil {
		return nil, err
	}
	return r, nil
}
