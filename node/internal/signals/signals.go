// Package signals carries what is live rather than history: typing,
// presence, read and delivered receipts with the message statuses they
// imply, and the room-size estimate that paces them in large rooms.
package signals

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/events"
	"github.com/peerchat/peerchat/node/internal/names"
	"github.com/peerchat/peerchat/node/internal/peering"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// Rooms is what signals need of the joined rooms.
type Rooms interface {
	Joined(room string) error
	Names() []string
	Peers(room string) []peer.ID
}

// Sender signs and publishes the local user's signals (sender.Sender).
type Sender interface {
	Sign(room, kind string, body any) (*protocol.Envelope, error)
	Publish(ctx context.Context, room string, env *protocol.Envelope) error
	Signal(ctx context.Context, room, kind string, body any) error
}

// Config is what Signals need; every field is required.
type Config struct {
	Self   peer.ID
	Name   string // the local user's display name at first; SetName changes it
	Store  *store.Store
	Rooms  Rooms
	Sender Sender
	Names  *names.Book
	Events *events.Log
	Log    *slog.Logger
}

// Signals holds the live state of every joined room. Typing, presence and
// receipts each have their own lock; none is held while another role is
// called, except receipts' while a marker is written (see receiptState).
type Signals struct {
	self   peer.ID
	nameMu sync.Mutex
	name   string // the local display name; guarded by nameMu (see name.go)
	store  *store.Store
	rooms  Rooms
	sender Sender
	names  *names.Book
	events *events.Log
	log    *slog.Logger
	ctx    context.Context // bounds what signals publish on their own; set by Load

	typing   typingState
	presence presenceState
	receipts receiptState
}

// New returns the signals of cfg; Load restores their stored state.
func New(cfg Config) *Signals {
	return &Signals{
		self: cfg.Self, name: cfg.Name, store: cfg.Store, rooms: cfg.Rooms, sender: cfg.Sender,
		names: cfg.Names, events: cfg.Events, log: cfg.Log,
		typing: typingState{lastSent: map[string]time.Time{}, until: map[peerKey]time.Time{}},
	}
}

// Load restores last seen times and receipt markers from the store. ctx
// is the node's: it bounds the announcements signals make on their own.
func (sig *Signals) Load(ctx context.Context) error {
	sig.ctx = ctx
	if err := sig.loadPresence(ctx); err != nil {
		return err
	}
	return sig.loadReceipts(ctx)
}

// peerKey names a peer in a room.
type peerKey struct {
	room string
	peer peer.ID
}

// Goodbye tells the rooms this node is going offline, so peers need not
// wait for its presence lease to run out. It is best effort.
func (sig *Signals) Goodbye() {
	if sig.ctx == nil || sig.ctx.Err() != nil {
		return
	}
	for _, name := range sig.rooms.Names() {
		sig.sendPresence(name, protocol.StatusOffline, 0, 0)
	}
}

// AnnounceOnJoin tells peers that joined the room who is here, without
// waiting for the next renewal; it runs for as long as the room is joined.
// Joins come in bursts when a network forms (every node sees each of its
// links join), so announcements wait a jittered joinAnnounceDelay and
// cover every join seen meanwhile: one announcement per burst, not one per
// join per node. In a room too large for one presence period, every
// announcement costs every member a verification and joins never stop, so
// there they are also kept (k−1)·PresenceEvery apart for a renewal period
// stretched k times: a newcomer to a large room learns who is present from
// the renewals.
func (sig *Signals) AnnounceOnJoin(ctx context.Context, room string, joined <-chan struct{}) {
	var last time.Time // owned by this goroutine
	for {
		select {
		case <-ctx.Done():
			return
		case <-joined:
		}
		t := time.NewTimer(peering.Jitter(joinAnnounceDelay))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		select { // joins seen while waiting are covered by this announcement
		case <-joined:
		default:
		}
		every, _ := PresencePeriod(sig.RoomSize(room))
		if gap := every - PresenceEvery; !last.IsZero() && time.Since(last) < gap {
			continue
		}
		last = time.Now()
		sig.announcePresence(room)
	}
}
