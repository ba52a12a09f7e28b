package signals

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

const (
	// PresenceEvery is how often a node renews its presence in each room
	// of up to presencePerPeriod members; larger rooms renew less often
	// (see PresencePeriod).
	PresenceEvery     = 7 * time.Second
	presencePerPeriod = 16
	// presenceLease is how long one announcement keeps a peer online in a
	// small room. Almost three renewals fit in a lease, so one lost
	// announcement changes nothing, and a peer killed with no goodbye
	// shows offline within about 20 s.
	presenceLease = 20 * time.Second
	// joinAnnounceDelay is about how long a node waits after a peer
	// joins a room before announcing itself there (see announceOnJoin).
	joinAnnounceDelay = 300 * time.Millisecond
	// seenSaveEvery bounds how often last_seen is written per peer.
	seenSaveEvery = 30 * time.Second
)

// presenceState tracks the local status and every peer's, guarded by mu.
type presenceState struct {
	mu     sync.Mutex
	status string // the local user's status
	peers  map[peer.ID]*peerPresence
}

type peerPresence struct {
	name     string
	status   string
	lastSeen time.Time
	lease    time.Time // online or away until then
	savedAt  time.Time
	rooms    map[string]bool // rooms it was seen in during this run
	sizes    map[string]int  // room size it reported in each room's last announcement
}

// Member is one member of a room, as GET /v1/rooms/{room}/members shows it.
type Member struct {
	PeerID   string     `json:"peer_id"`
	Name     string     `json:"name"`
	Status   string     `json:"status"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
	ReadUpTo string     `json:"read_up_to,omitempty"`
}

// loadPresence restores last_seen of known peers; all start offline.
func (sig *Signals) loadPresence(ctx context.Context) error {
	sig.presence.status = protocol.StatusOnline
	sig.presence.peers = map[peer.ID]*peerPresence{}
	seen, err := sig.store.AllSeen(ctx)
	if err != nil {
		return err
	}
	for id, s := range seen {
		p, err := peer.Decode(id)
		if err != nil {
			continue
		}
		sig.presence.peers[p] = &peerPresence{name: s.Name, status: protocol.StatusOffline, lastSeen: time.UnixMilli(s.LastSeen).UTC()}
		sig.names.Note(p, s.Name)
	}
	return nil
}

// SetPresence sets the local user's status and announces it at once.
func (sig *Signals) SetPresence(ctx context.Context, status string) error {
	if status != protocol.StatusOnline && status != protocol.StatusAway {
		return fault.Errorf(fault.CodeInvalid, `status must be "online" or "away"`)
	}
	sig.presence.mu.Lock()
	changed := sig.presence.status != status
	sig.presence.status = status
	sig.presence.mu.Unlock()
	if changed {
		now := time.Now().UTC()
		sig.events.Append(ctx, protocol.Event{Type: protocol.EventPresence, PeerID: sig.self.String(), Name: sig.Name(), Status: status, LastSeen: &now})
		for _, name := range sig.rooms.Names() {
			sig.announcePresence(name)
		}
	}
	return nil
}

// announcePresence publishes the local status in room without waiting.
func (sig *Signals) announcePresence(room string) {
	sig.presence.mu.Lock()
	status := sig.presence.status
	sig.presence.mu.Unlock()
	size := sig.RoomSize(room)
	_, lease := PresencePeriod(size)
	sig.sendPresence(room, status, lease, size)
}

// maxPresenceStretch keeps the longest lease within what receivers accept.
const maxPresenceStretch = protocol.MaxLeaseMS / int(presenceLease/time.Millisecond)

// PresencePeriod returns how often to renew the local presence in a room
// of size members, and the lease each announcement grants: PresenceEvery
// and presenceLease in rooms of up to presencePerPeriod members, stretched
// beyond.
func PresencePeriod(size int) (every, lease time.Duration) {
	k := time.Duration(min(stretch(size, presencePerPeriod), maxPresenceStretch))
	return k * PresenceEvery, k * presenceLease
}

func (sig *Signals) sendPresence(room, status string, lease time.Duration, roomSize int) {
	body := protocol.PresenceBody{Name: sig.Name(), Status: status, LeaseMS: lease.Milliseconds(), RoomSize: roomSize}
	if err := sig.sender.Signal(sig.ctx, room, protocol.KindPresence, body); err != nil && sig.ctx.Err() == nil {
		sig.log.Debug("announce presence", "room", room, "err", err)
	}
}

// RunPresence renews the local presence in every room and marks peers
// whose lease ran out as offline, until ctx ends.
func (sig *Signals) RunPresence(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	pace := newPacer() // owned by this goroutine
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			names := sig.rooms.Names()
			for _, name := range names {
				// The lease outlasts the longest jittered period.
				if every, _ := PresencePeriod(sig.RoomSize(name)); pace.due(name, now, every) {
					pace.sent(name, now)
					sig.announcePresence(name)
				}
			}
			pace.keep(names)
			sig.expirePresence(ctx)
		}
	}
}

func (sig *Signals) expirePresence(ctx context.Context) {
	now := time.Now()
	var events []protocol.Event
	sig.presence.mu.Lock()
	for id, p := range sig.presence.peers {
		if p.status != protocol.StatusOffline && now.After(p.lease) {
			p.status = protocol.StatusOffline
			last := p.lastSeen
			events = append(events, protocol.Event{Type: protocol.EventPresence, PeerID: id.String(), Name: p.name, Status: p.status, LastSeen: &last})
		}
	}
	sig.presence.mu.Unlock()
	for _, ev := range events {
		sig.events.Append(ctx, ev)
	}
}

// OnPresence records a peer's announcement, and reports a change of
// status, or a peer new to the room (with the room named in the event).
func (sig *Signals) OnPresence(ctx context.Context, env *protocol.Envelope, b protocol.PresenceBody) {
	now := time.Now().UTC()
	room, id := env.Room, env.Author
	sig.names.Note(id, b.Name)
	sig.presence.mu.Lock()
	p, known := sig.presence.peers[id]
	if !known {
		p = &peerPresence{status: protocol.StatusOffline}
		sig.presence.peers[id] = p
	}
	if p.rooms == nil {
		p.rooms, p.sizes = map[string]bool{}, map[string]int{}
	}
	newInRoom := !p.rooms[room]
	p.rooms[room] = true
	p.sizes[room] = b.RoomSize
	changed := p.status != b.Status || p.name != b.Name
	p.name, p.status, p.lastSeen = b.Name, b.Status, now
	p.lease = now.Add(time.Duration(b.LeaseMS) * time.Millisecond)
	save := changed || now.Sub(p.savedAt) > seenSaveEvery
	if save {
		p.savedAt = now
	}
	sig.presence.mu.Unlock()
	if save {
		if err := sig.store.SaveSeen(ctx, id.String(), store.Seen{Name: b.Name, LastSeen: now.UnixMilli()}); err != nil && ctx.Err() == nil {
			sig.log.Warn("save last seen", "peer", id, "err", err)
		}
	}
	if newInRoom {
		if err := sig.store.AddMember(ctx, room, id.String()); err != nil && ctx.Err() == nil {
			sig.log.Warn("save member", "peer", id, "err", err)
		}
	}
	// A peer first seen in this room is news to the room's members panel
	// even when its status did not change (it was online in another room).
	if changed || newInRoom {
		ev := protocol.Event{Type: protocol.EventPresence, PeerID: id.String(), Name: b.Name, Status: b.Status, LastSeen: &now}
		if newInRoom {
			ev.Room = room
		}
		sig.events.Append(ctx, ev)
	}
}

// Members lists the local user and every peer known in room (seen by its
// presence, connected to the room's topic now, or holding a receipt there),
// with status, last seen time and read marker.
func (sig *Signals) Members(ctx context.Context, room string) ([]Member, error) {
	if err := sig.rooms.Joined(room); err != nil {
		return nil, err
	}
	stored, err := sig.store.Members(ctx, room)
	if err != nil {
		return nil, fault.Errorf(fault.CodeUnavailable, "read members: %w", err)
	}
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range stored {
		add(id)
	}
	for _, p := range sig.rooms.Peers(room) {
		add(p.String())
	}
	sig.receipts.mu.Lock()
	for k := range sig.receipts.markers {
		if k.room == room {
			add(k.peer.String())
		}
	}
	sig.receipts.mu.Unlock()
	now := time.Now().UTC()
	name := sig.Name()
	sig.presence.mu.Lock()
	self := Member{PeerID: sig.self.String(), Name: name, Status: sig.presence.status, LastSeen: &now}
	out := []Member{self}
	for _, s := range ids {
		id, err := peer.Decode(s)
		if err != nil || id == sig.self {
			continue
		}
		m := Member{PeerID: s, Status: protocol.StatusOffline, Name: sig.names.Name(id)}
		if p, ok := sig.presence.peers[id]; ok {
			last := p.lastSeen
			m.Name, m.Status, m.LastSeen = p.name, p.status, &last
		}
		out = append(out, m)
	}
	sig.presence.mu.Unlock()
	for i := range out {
		id, _ := peer.Decode(out[i].PeerID)
		if mk, ok := sig.marker(room, id, protocol.ReceiptRead); ok {
			out[i].ReadUpTo = mk.id.String()
		}
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Name < out[1+j].Name })
	return out, nil
}
