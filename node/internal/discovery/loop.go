package discovery

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

const (
	// tick is how often the loop looks at the joined rooms, the routing
	// table and the node's addresses. A room joined is searched at the
	// next tick, so within a second.
	tick = time.Second
	// advertiseEvery renews a room's record: a third of RecordLifetime, so
	// that two renewals in a row may fail before the record lapses.
	advertiseEvery = RecordLifetime / 3
	// advertiseRetry is the first wait after a failed advertisement,
	// doubling to advertiseRetryMax. dutil.Advertise waits 2 minutes after
	// a failure, which a node that starts before its table fills always
	// meets: the first advertisement would come minutes late.
	advertiseRetry    = 5 * time.Second
	advertiseRetryMax = time.Minute
	// readvertiseAfter spaces advertisements caused by address changes
	// (a reservation made or lost, a new observed address), which come in
	// bursts at start.
	readvertiseAfter = 10 * time.Second
	// operationTimeout bounds one search or advertisement.
	operationTimeout = 30 * time.Second
	// maxInFlight bounds the searches and advertisements running at once,
	// so a node (a relay) in many rooms spreads them out.
	maxInFlight = 4
	// maxResults bounds the records read per search, maxDials the peers
	// handed to the dialer per search. The prefix is no access control:
	// anyone can file records for peer IDs of its own under a room's key,
	// and a search must not turn that into a flood of dials.
	maxResults = 20
	maxDials   = 8
	// dialDelay lets the peer with the smaller ID dial first when two
	// peers find each other at once: crossed dials produce two relayed
	// connections and two hole punches racing each other.
	dialDelay = time.Second
)

// findDelay is the wait before a room's next search: every few seconds for
// the first minute after joining, when peers are most likely arriving;
// then every 30 to 60 s while no peer of the room is connected; every
// 5 minutes once the room has company (gossip and sync then spread what
// matters, and the search only adds peers the room does not know yet).
func findDelay(sinceJoin time.Duration, roomPeers int) time.Duration {
	switch {
	case sinceJoin < time.Minute:
		return jitter(3 * time.Second)
	case roomPeers == 0:
		return 30*time.Second + rand.N(30*time.Second)
	default:
		return jitter(5 * time.Minute)
	}
}

// jitter spreads d over [d/2, 3d/2), so that peers that start together do
// not search together.
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d) }

// roomState is the schedule of one joined room. Only run touches it.
type roomState struct {
	key         cid.Cid
	joined      time.Time
	nextFind    time.Time
	nextAd      time.Time
	lastAd      time.Time // when the last advertisement started
	adRetry     time.Duration
	finding     bool
	advertising bool
}

// outcome is what a search or an advertisement reports back to run.
type outcome struct {
	room      string
	advertise bool
	err       error
}

// run advertises and searches the joined rooms until ctx ends. The rooms'
// schedules belong to this goroutine alone; each operation runs in a
// goroutine of the tasks and reports back on done.
func (d *Discovery) run(ctx context.Context) {
	rooms := map[string]*roomState{}
	done := make(chan outcome, maxInFlight)
	inFlight := 0
	shared := ""
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		now := time.Now()
		d.syncRooms(rooms, now)
		ready, addrs := d.ready()
		if ready && addrs != shared {
			// New addresses (a reservation made or lost) go into fresh
			// records at once: the old ones send finders to a relay that
			// no longer holds us.
			shared = addrs
			for _, r := range rooms {
				if soon := r.lastAd.Add(readvertiseAfter); soon.Before(r.nextAd) {
					r.nextAd = soon // in the past when the last one was long ago: at once
				}
			}
		}
		tableEmpty := d.dht.RoutingTable().Size() == 0
		for name, r := range rooms {
			if inFlight == maxInFlight {
				break
			}
			if !r.finding && !tableEmpty && !now.Before(r.nextFind) {
				if !d.start(ctx, done, name, r.key, false) {
					return
				}
				r.finding = true
				inFlight++
			}
			if inFlight < maxInFlight && ready && !r.advertising && !now.Before(r.nextAd) {
				if !d.start(ctx, done, name, r.key, true) {
					return
				}
				r.advertising, r.lastAd = true, now
				inFlight++
			}
		}
		select {
		case <-ctx.Done():
			// The operations end with ctx; the tasks' Wait waits for them.
			return
		case <-t.C:
		case o := <-done:
			inFlight--
			d.finished(rooms, o, time.Now())
		}
	}
}

// syncRooms adds the rooms joined since the last look, due at once, and
// drops those left (their records lapse on the servers by themselves).
func (d *Discovery) syncRooms(rooms map[string]*roomState, now time.Time) {
	names := d.cfg.Rooms()
	for _, name := range names {
		if _, ok := rooms[name]; ok {
			continue
		}
		key, err := protocol.RoomDiscoveryCID(name)
		if err != nil {
			d.cfg.Log.Warn("room discovery key", "room", name, "err", err)
			continue
		}
		rooms[name] = &roomState{key: key, joined: now, nextFind: now, nextAd: now, adRetry: advertiseRetry}
	}
	for name := range rooms {
		if !slices.Contains(names, name) {
			delete(rooms, name)
		}
	}
}

// finished records an operation's end and schedules the room's next one.
// A room left meanwhile is gone from rooms and stays gone.
func (d *Discovery) finished(rooms map[string]*roomState, o outcome, now time.Time) {
	r, ok := rooms[o.room]
	if !ok {
		return
	}
	if !o.advertise {
		r.finding = false
		r.nextFind = now.Add(findDelay(now.Sub(r.joined), d.cfg.RoomPeers(o.room)))
		return
	}
	r.advertising = false
	if o.err != nil {
		d.cfg.Log.Debug("advertise room in the DHT", "room", o.room, "err", o.err, "retry", r.adRetry)
		r.nextAd = now.Add(jitter(r.adRetry))
		r.adRetry = min(2*r.adRetry, advertiseRetryMax)
		return
	}
	r.adRetry = advertiseRetry
	r.nextAd = now.Add(jitter(advertiseEvery))
}

// ready reports whether an advertisement would carry addresses a finder
// can use (the table is not empty, and a node behind relays has a relayed
// or public address), and those addresses as one string, to notice when
// they change.
func (d *Discovery) ready() (bool, string) {
	if d.dht.RoutingTable().Size() == 0 {
		return false, ""
	}
	addrs := d.cfg.Host.Addrs()
	if len(addrs) == 0 || (d.cfg.Relayed && !hasShareable(addrs)) {
		return false, ""
	}
	strs := make([]string, 0, len(addrs))
	for _, a := range Shareable(addrs) {
		strs = append(strs, a.String())
	}
	slices.Sort(strs)
	return true, strings.Join(strs, " ")
}

// start runs one search or advertisement of room in the tasks. It returns
// false once the node is closing.
func (d *Discovery) start(ctx context.Context, done chan<- outcome, room string, key cid.Cid, advertise bool) bool {
	return d.cfg.Tasks.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, operationTimeout)
		defer cancel()
		o := outcome{room: room, advertise: advertise}
		if advertise {
			o.err = d.dht.Provide(ctx, key, true)
		} else {
			d.find(ctx, room, key)
		}
		// done has room for every operation in flight: this never blocks.
		done <- o
	})
}

// find searches room's key and hands what it finds to the dialer, at most
// maxDials peers a search.
func (d *Discovery) find(ctx context.Context, room string, key cid.Cid) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found, dialled := 0, 0
	for ai := range d.dht.FindProvidersAsync(ctx, key, maxResults) {
		found++
		if dialled < maxDials && d.consider(ai) {
			dialled++
			if dialled == maxDials {
				cancel() // the channel closes soon; read it to the end
			}
		}
	}
	if dialled > 0 {
		d.cfg.Log.Debug("room peers found in the DHT", "room", room, "records", found, "dialling", dialled)
	}
}

// consider hands a found peer to the dialer unless it is the node itself
// (its own record comes back once it has advertised), blocked, already
// connected, or without an address. The peer with the smaller ID dials at
// once, the other a moment later if still unconnected.
func (d *Discovery) consider(ai peer.AddrInfo) bool {
	self := d.cfg.Host.ID()
	if ai.ID == self || d.cfg.Blocked(ai.ID) {
		return false
	}
	if c := d.cfg.Host.Network().Connectedness(ai.ID); c == network.Connected || c == network.Limited {
		return false
	}
	ai.Addrs = Shareable(ai.Addrs)
	if len(ai.Addrs) == 0 {
		return false
	}
	var delay time.Duration
	if self > ai.ID {
		delay = jitter(dialDelay) + dialDelay/2
	}
	d.cfg.Dial(ai, delay)
	return true
}
