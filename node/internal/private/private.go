// Package private is the node's role for private rooms and direct rooms:
// it keeps, per room, the member's key state (its KEM keys, the room's
// epoch chain, the secrets of the epochs it held, its invites and the join
// requests waiting for approval) in the node's datastore; seals the local
// user's messages and opens incoming ones; writes the owner's epoch
// changes; and runs the invite and join flow. For a room it is not a
// member of (a relay's), it keeps the chain alone, which needs no key, so
// that the validator can refuse ciphertext from non-members.
//
// It signs nothing itself: every envelope goes out through the Publisher
// seam (the sender role), which assigns the Lamport clock and send time the
// body is bound to. It routes nothing either: intake hands it the sealed
// envelopes it accepted (Accept) and asks it first (Check).
package private

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// Store is what the role needs of node/store: named values per room,
// each written durably.
type Store interface {
	PutPrivate(ctx context.Context, room, name string, value []byte) error
	DeletePrivate(ctx context.Context, room, name string) error
	PrivateValues(ctx context.Context, room, prefix string) ([]store.PrivateValue, error)
	PrivateRooms(ctx context.Context) ([]string, error)
}

// Publisher sends an envelope for the local user: it picks the Lamport
// clock and send time, calls body with the header the envelope will have
// (a sealed body is bound to it), signs, stores durably and publishes, and
// returns the envelope. The sender role implements it in the node.
type Publisher interface {
	Publish(ctx context.Context, kind, room string, body func(sealed.Header) ([]byte, error)) (*protocol.Envelope, error)
}

// DefaultGrace is the design's grace window for superseded epochs.
const DefaultGrace = 24 * time.Hour

// Config is what the role needs; Now defaults to time.Now, Grace to
// DefaultGrace and MaxHeld to 1,024.
type Config struct {
	Key       crypto.PrivKey
	Store     Store
	Publisher Publisher
	Now       func() time.Time
	// Grace is how long after an epoch is superseded (its successor
	// first seen here) new envelopes of it are still accepted: a member
	// who wrote while offline during a rekey still gets store-and-
	// forward, but a removed member cannot keep writing into its last
	// epoch at relays forever. Zero means DefaultGrace; negative, no
	// limit.
	Grace time.Duration
	// MaxHeld bounds, per room, the sealed envelopes held until their
	// epoch arrives or is opened; beyond it the oldest is dropped (it
	// stays in the store, and a restart's replay opens it).
	MaxHeld int
}

// Role is the local user's place in a private room.
type Role string

// Roles.
const (
	RoleOwner   Role = "owner"
	RoleMember  Role = "member"
	RoleJoining Role = "joining" // asked to join; not let in yet
	RoleDM      Role = "dm"
	RoleRelay   Role = "" // not a member: the chain alone
)

// Errors of the role's own API, besides those of protocol/sealed.
var (
	ErrUnknownRoom   = errors.New("unknown private room")
	ErrNotOwner      = errors.New("only the room's owner may do this")
	ErrUnknownInvite = errors.New("unknown invite")
	ErrRevoked       = errors.New("invite revoked")
	ErrNoRequest     = errors.New("no such join request")
	// ErrSuperseded refuses an envelope written, by its Lamport clock,
	// after its epoch was superseded, and arriving after the grace
	// window. Ignore: the forwarder may be honest.
	ErrSuperseded = errors.New("envelope of a superseded epoch after its grace window")
)

// Private is the role. Its methods are safe for concurrent use.
type Private struct {
	cfg  Config
	self peer.ID

	// ops serialises epoch changes (build, store the secret, publish,
	// admit), so two never build on the same head and fork the room. It
	// is taken before mu and held across the Publisher call, which mu
	// never is.
	ops sync.Mutex

	// mu guards rooms. Check, on every validator's path, only reads, so
	// validators of many rooms run at once; everything else writes.
	mu    sync.RWMutex
	rooms map[string]*room // guarded by mu
}

// room is one private room's state. Guarded by Private.mu.
type room struct {
	name     string
	meta     meta
	ring     *sealed.Keyring // nil for a relay's room
	chain    *sealed.Chain
	stored   map[sealed.EpochID]bool // secrets already on disk
	invites  map[[16]byte]*invite
	requests map[peer.ID]*sealed.JoinRequest
	held     []*protocol.Envelope // sealed envelopes waiting for their epoch or key
	epochs   []*protocol.Envelope // the admitted epoch envelopes, in admission order
	wrapped  bool                 // the last epoch adopted came in a wrap to our KEM key
	// seen holds, per admitted epoch, when this node first admitted it
	// and its envelope's Lamport clock: the grace window of its parent.
	seen map[sealed.EpochID]seenEpoch
}

type seenEpoch struct {
	at      time.Time
	lamport uint64
}

// New returns the role; Load restores its rooms from the store.
func New(cfg Config) (*Private, error) {
	self, err := peer.IDFromPrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("private: peer ID of key: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = 1024
	}
	return &Private{cfg: cfg, self: self, rooms: map[string]*room{}}, nil
}

// Info describes a private room for the API. Name is the display name
// from the encrypted room state, known to members only.
type Info struct {
	Room   string
	Name   string
	Role   Role
	DMPeer peer.ID // the other party of a direct room
	Epoch  uint64  // the head epoch's number
	Held   bool    // self holds the head epoch: it can read and write now
}

// Rooms lists the rooms the local user is (or asked to be) a member of.
func (p *Private) Rooms() []Info {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []Info
	for _, r := range p.rooms {
		if r.ring == nil {
			continue
		}
		out = append(out, r.info())
	}
	return out
}

// Room describes one room; ok is false when the user is not a member.
func (p *Private) Room(name string) (Info, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	r, ok := p.rooms[name]
	if !ok || r.ring == nil {
		return Info{}, false
	}
	return r.info(), true
}

func (r *room) info() Info {
	in := Info{Room: r.name, Role: r.meta.Role, DMPeer: r.meta.DMPeer}
	if s, ok := r.ring.State(); ok {
		in.Name = s.Name
	}
	if r.meta.Role == RoleDM {
		in.Name = r.meta.DMPeer.String()
	}
	if h := r.chain.Head(); h != nil {
		in.Epoch = h.Number
		_, in.Held = r.ring.Held(h.ID)
	}
	return in
}

// member returns the room self is a member of, or ErrUnknownRoom.
func (p *Private) member(name string) (*room, error) {
	r, ok := p.rooms[name]
	if !ok || r.ring == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownRoom, name)
	}
	return r, nil
}

// newRoom registers a room with a keyring (ring nil: a relay's chain).
func (p *Private) newRoom(name string, m meta, ring *sealed.Keyring) *room {
	r := &room{name: name, meta: m, ring: ring, stored: map[sealed.EpochID]bool{}, seen: map[sealed.EpochID]seenEpoch{},
		invites: map[[16]byte]*invite{}, requests: map[peer.ID]*sealed.JoinRequest{}}
	if ring != nil {
		r.chain = ring.Chain()
	} else {
		r.chain = sealed.NewChain(name)
	}
	p.rooms[name] = r
	return r
}

// ownerKEM returns the owner's KEM key of r: the first of its keyring.
func (r *room) ownerKEM() *ecdh.PrivateKey { return r.ring.KEMs()[0] }
