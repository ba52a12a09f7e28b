// Package nat keeps a node behind NAT reachable and moves its links off
// relays: reservations with the configured circuit relays (all at once),
// the relayed addresses it advertises, the room directory it asks relays
// for, reachability checks through relays, and hole punching (DCUtR) that
// the node schedules itself.
package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multistream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/node/internal/peering"
	"github.com/peerchat/peerchat/node/internal/tasks"
)

const (
	// relayMinRetry and relayMaxRetry bound the wait before trying a lost
	// or failed reservation again. libp2p's AutoRelay waits about an hour
	// after a failure, which would leave a NAT'd node unreachable for that
	// long after a relay restart; peerchat retries within seconds.
	relayMinRetry = time.Second
	relayMaxRetry = 5 * time.Second
	// relayRefusedRetry is the slowest retry, for a relay that answered
	// but refused us (allow-list, limits): asking every few seconds would
	// only add to its load.
	relayRefusedRetry = time.Minute
	// relayDialTimeout bounds connecting to a relay and reserving a slot.
	relayDialTimeout = 10 * time.Second
	// relayMaxRefresh caps the time between reservation refreshes, so a
	// relay that forgot us (restarted with its state lost but our
	// connection kept) is noticed.
	relayMaxRefresh = 15 * time.Minute
	// relayProbeFast is how often the relay's directory is asked for room
	// peers during the first minute of a reservation, when peers are most
	// likely to be arriving; relayProbeSlow afterwards. Each query doubles
	// as a liveness probe: relayProbeFailures failed queries in a row count
	// as losing the relay, which catches a relay that vanished without
	// closing its connections (a dead VPS, a QUIC path gone silent).
	relayProbeFast     = 3 * time.Second
	relayProbeSlow     = 15 * time.Second
	relayProbeFastFor  = time.Minute
	relayProbeFailures = 2
)

// errRelayDisconnected records why a reservation ended when the connection
// to the relay closed.
var errRelayDisconnected = errors.New("connection to relay closed")

// Client keeps the node reachable through the relays named in
// Config.Relays and finds room peers through them. It keeps a reservation
// with every configured relay at once rather than one at a time, so that
// when one relay dies the others already carry the node's relayed address
// and the move to another relay costs no more than a redial. It also owns
// the node's hole punching (relaypunch.go).
type Client struct {
	// Set by New and Attach, not modified after.
	log      *slog.Logger
	registry prometheus.Registerer
	tasks    *tasks.Group
	host     host.Host
	dialer   *peering.Dialer
	blocked  func(peer.ID) bool
	rooms    func() []string
	relays   []peer.AddrInfo
	// wake holds one channel per relay, signalled when the last connection
	// to it closes. It is not modified after newRelayClient.
	wake map[peer.ID]chan struct{}

	emitter event.Emitter      // EvtAutoRelayAddrsUpdated, set by attach
	hp      *holepunch.Service // nil when identify is not reachable

	mu       sync.Mutex
	slots    map[peer.ID]*relaySlot  // guarded by mu
	observed map[string]observedAddr // guarded by mu; see relaypunch.go
	reach    network.Reachability    // guarded by mu
	// reachChecked is when the last reachability check through a relay
	// ended, reachChecking whether one runs; guarded by mu.
	reachChecked  time.Time
	reachChecking bool
	punches       map[peer.ID]*punchState // guarded by mu
	// failed logs a peer's failed punches, and a relay's failed
	// reservations, once for each cause.
	failed peering.Once
}

// relaySlot is the state of the reservation with one relay.
type relaySlot struct {
	reserved bool
	expires  time.Time
	circuits []ma.Multiaddr // our addresses through this relay, while reserved
	// limited is whether the relay caps its circuits (see considerPeer).
	limited bool
	lastErr string
}

// RelayInfo describes the node's reservation with one configured relay.
type RelayInfo struct {
	ID       string    `json:"peer_id"`
	Addrs    []string  `json:"addrs"`
	Reserved bool      `json:"reserved"`
	Expires  time.Time `json:"expires,omitzero"`
	// Error is why the last attempt to reserve failed, while not reserved.
	Error string `json:"error,omitempty"`
}

// Config configures a Client. Relays are circuit relay addresses, each
// ending in /p2p/ID.
type Config struct {
	Relays   []string
	Log      *slog.Logger
	Registry prometheus.Registerer // nil: no hole punching metrics
	Tasks    *tasks.Group          // runs the client's goroutines
}

// New parses the relay addresses; the host does not exist yet, and Attach
// hooks it up once it does.
func New(cfg Config) (*Client, error) {
	rc := &Client{
		log:      cfg.Log,
		registry: cfg.Registry,
		tasks:    cfg.Tasks,
		wake:     map[peer.ID]chan struct{}{},
		slots:    map[peer.ID]*relaySlot{},
		observed: map[string]observedAddr{},
		punches:  map[peer.ID]*punchState{},
	}
	var addrs []ma.Multiaddr
	for _, s := range cfg.Relays {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fault.Errorf(fault.CodeInvalid, "relay address %q: %w", s, err)
		}
		if _, err := peer.IDFromP2PAddr(a); err != nil {
			return nil, fault.Errorf(fault.CodeInvalid, "relay address %q must end in /p2p/PEER_ID: %w", s, err)
		}
		addrs = append(addrs, a)
	}
	// Several addresses of one relay (TCP and QUIC) make one relay.
	infos, err := peer.AddrInfosFromP2pAddrs(addrs...)
	if err != nil {
		return nil, fault.Errorf(fault.CodeInvalid, "relay addresses: %w", err)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].ID < infos[j].ID })
	for _, ai := range infos {
		rc.relays = append(rc.relays, ai)
		rc.wake[ai.ID] = make(chan struct{}, 1)
		rc.slots[ai.ID] = &relaySlot{}
	}
	return rc, nil
}

// Attach hooks the client to the freshly built host: hole punching, the
// address event emitter and the disconnect notifications. Peers found
// through relays are made wanted on dialer unless blocked says no; rooms
// lists the rooms to ask relays' directories about.
func (rc *Client) Attach(h host.Host, dialer *peering.Dialer, blocked func(peer.ID) bool, rooms func() []string) error {
	rc.host, rc.dialer, rc.blocked, rc.rooms = h, dialer, blocked, rooms
	em, err := h.EventBus().Emitter(new(event.EvtAutoRelayAddrsUpdated))
	if err != nil {
		return fmt.Errorf("relay address emitter: %w", err)
	}
	rc.emitter = em
	if err := rc.startHolePunching(h); err != nil {
		em.Close()
		return err
	}
	h.Network().Notify(&network.NotifyBundle{DisconnectedF: rc.disconnected})
	// What Attach made is released once the tasks' context ends; closing
	// the node waits for this like for any tracked goroutine.
	rc.tasks.Go(func() {
		<-rc.tasks.Context().Done()
		if rc.hp != nil {
			rc.hp.Close()
		}
		rc.emitter.Close()
	})
	return nil
}

// Start runs the client's goroutines.
func (rc *Client) Start() {
	for _, ai := range rc.relays {
		rc.tasks.Go(func() { rc.keepReservation(rc.tasks.Context(), ai) })
	}
	rc.tasks.Go(func() { rc.watchReachability(rc.tasks.Context()) })
	rc.tasks.Go(func() { rc.maintain(rc.tasks.Context()) })
}

// disconnected wakes the reservation loop of a relay the node just lost.
// It runs in libp2p's notification path and must not block.
func (rc *Client) disconnected(nw network.Network, c network.Conn) {
	p := c.RemotePeer()
	ch, ok := rc.wake[p]
	if !ok || nw.Connectedness(p) == network.Connected {
		return
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// keepReservation holds a reservation with one relay until ctx ends:
// reserve, refresh before it expires, and reserve again within seconds
// whenever it is lost.
func (rc *Client) keepReservation(ctx context.Context, ai peer.AddrInfo) {
	h := rc.host
	h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
	h.ConnManager().Protect(ai.ID, "peerchat-relay")
	retry := relayMinRetry
	for {
		rsv, err := rc.reserve(ctx, ai)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			rc.lost(ai.ID, err)
			ceiling := relayMaxRetry
			var re client.ReservationError
			if errors.As(err, &re) && (re.Status == pbv2.Status_PERMISSION_DENIED || re.Status == pbv2.Status_RESERVATION_REFUSED) {
				ceiling = relayRefusedRetry
			}
			if !sleepCtx(ctx, peering.Jitter(retry)) {
				return
			}
			retry = min(2*retry, ceiling)
			continue
		}
		retry = relayMinRetry
		rc.reserved(ai, rsv)
		if !rc.holdReservation(ctx, ai, rsv) {
			return
		}
	}
}

// reserve connects to the relay and asks for a slot. The dial ignores
// libp2p's dial backoff, which grows to minutes for an address that
// failed repeatedly, exactly when a restarted relay should be found again.
func (rc *Client) reserve(ctx context.Context, ai peer.AddrInfo) (*client.Reservation, error) {
	ctx, cancel := context.WithTimeout(ctx, relayDialTimeout)
	defer cancel()
	ctx = network.WithForceDirectDial(ctx, "peerchat relay reservation")
	if err := rc.host.Connect(ctx, ai); err != nil {
		return nil, fmt.Errorf("connect to relay: %w", err)
	}
	rsv, err := client.Reserve(ctx, rc.host, ai)
	if err != nil {
		return nil, fmt.Errorf("reserve a relay slot: %w", err)
	}
	return rsv, nil
}

// holdReservation waits while the reservation stands, asking the relay's
// directory for room peers as it goes. It returns true when the
// reservation must be renewed or was lost, false when ctx ended.
func (rc *Client) holdReservation(ctx context.Context, ai peer.AddrInfo, rsv *client.Reservation) bool {
	refresh := time.NewTimer(min(max(time.Until(rsv.Expiration)/2, relayMinRetry), relayMaxRefresh))
	defer refresh.Stop()
	probe := time.NewTimer(0)
	defer probe.Stop()
	start := time.Now()
	failures := 0
	directory := true // until the relay turns out not to serve one
	for {
		select {
		case <-ctx.Done():
			return false
		case <-refresh.C:
			return true
		case <-rc.wake[ai.ID]:
			if rc.host.Network().Connectedness(ai.ID) != network.Connected {
				rc.lost(ai.ID, errRelayDisconnected)
				return true
			}
		case <-probe.C:
			rc.maybeCheckReachability(ai.ID)
			if err := rc.probe(ctx, ai, &directory); err != nil && ctx.Err() == nil {
				failures++
				rc.log.Debug("relay probe failed", "relay", ai.ID, "err", err)
				if failures >= relayProbeFailures {
					rc.host.Network().ClosePeer(ai.ID)
					rc.lost(ai.ID, fmt.Errorf("relay stopped answering: %w", err))
					return true
				}
			} else {
				failures = 0
			}
			next := relayProbeSlow
			if time.Since(start) < relayProbeFastFor {
				next = relayProbeFast
			}
			probe.Reset(peering.Jitter(next))
		}
	}
}

// probe asks the relay's directory for room peers, which also shows the
// relay is alive. A relay without a directory (a plain libp2p relay) is
// pinged instead, and its peers must be found some other way.
func (rc *Client) probe(ctx context.Context, ai peer.AddrInfo, directory *bool) error {
	if *directory {
		err := rc.queryDirectory(ctx, ai)
		if !errors.Is(err, multistream.ErrNotSupported[protocol.ID]{}) {
			return err
		}
		*directory = false
		rc.log.Info("relay serves no room directory; pinging it instead", "relay", ai.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, directoryTimeout)
	defer cancel()
	return (<-ping.Ping(network.WithNoDial(ctx, "relay probe"), rc.host, ai.ID)).Error
}

// reserved records a granted reservation and advertises the node's
// relayed addresses through that relay.
func (rc *Client) reserved(ai peer.AddrInfo, rsv *client.Reservation) {
	base := slices.Clone(ai.Addrs)
	for _, a := range rsv.Addrs {
		if rest, last := ma.SplitLast(a); last != nil && last.Code() == ma.P_P2P {
			if last.Value() != ai.ID.String() {
				continue // the relay vouches only for itself
			}
			a = rest
		}
		base = append(base, a)
	}
	circuits := circuitAddrs(ma.Unique(base), ai.ID)
	rc.mu.Lock()
	s := rc.slots[ai.ID]
	renewed := s.reserved
	s.reserved, s.expires, s.circuits, s.lastErr = true, rsv.Expiration, circuits, ""
	s.limited = rsv.LimitDuration > 0 || rsv.LimitData > 0
	rc.mu.Unlock()
	rc.failed.Forget("reserve", ai.ID)
	if !renewed {
		rc.log.Info("relay reservation made", "relay", ai.ID, "expires", rsv.Expiration.Format(time.RFC3339))
	}
	rc.announceAddrs()
}

// lost records that the reservation with relay p is gone (or could not be
// made) and stops advertising addresses through it.
func (rc *Client) lost(p peer.ID, err error) {
	rc.mu.Lock()
	s := rc.slots[p]
	was := s.reserved
	s.reserved, s.circuits, s.lastErr = false, nil, err.Error()
	rc.mu.Unlock()
	cause := peering.Cause(err)
	switch {
	case was:
		rc.failed.Forget("reserve", p)
		rc.failed.First("reserve", p, cause)
		rc.log.Warn("relay reservation lost: "+cause+"; retrying", "relay", p, "err", err)
		rc.announceAddrs()
	case rc.failed.First("reserve", p, cause):
		// An unreachable or full relay is said once, in words; the
		// retries that follow with the same cause are debug.
		rc.log.Warn("relay reservation failed: "+cause+"; retrying", "relay", p, "err", err)
	default:
		rc.log.Debug("relay reservation failed again: "+cause, "relay", p, "err", err)
	}
}

// announceAddrs makes the host recompute its addresses now rather than at
// its next periodic update, so identify pushes the new relayed addresses
// to connected peers at once.
func (rc *Client) announceAddrs() {
	if err := rc.emitter.Emit(event.EvtAutoRelayAddrsUpdated{RelayAddrs: rc.circuits()}); err != nil {
		rc.log.Debug("announce relay addresses", "err", err)
	}
}

// circuits returns the node's addresses through every relay it holds a
// reservation with.
func (rc *Client) circuits() []ma.Multiaddr {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []ma.Multiaddr
	for _, ai := range rc.relays {
		out = append(out, rc.slots[ai.ID].circuits...)
	}
	return out
}

// AddrsFactory is the host's address factory: its own addresses plus the
// relayed ones, always. libp2p would add relayed addresses only once
// AutoNAT has decided the node is private, which can take minutes or never
// happen with few AutoNAT servers around.
func (rc *Client) AddrsFactory(addrs []ma.Multiaddr) []ma.Multiaddr {
	return ma.Unique(append(slices.Clone(addrs), rc.circuits()...))
}

// circuitAddrs returns the addresses through relay id: each of the relay's
// addresses followed by /p2p/RELAY/p2p-circuit.
func circuitAddrs(relayAddrs []ma.Multiaddr, id peer.ID) []ma.Multiaddr {
	suffix, err := ma.NewMultiaddr("/p2p/" + id.String() + "/p2p-circuit")
	if err != nil {
		return nil
	}
	out := make([]ma.Multiaddr, 0, len(relayAddrs))
	for _, a := range relayAddrs {
		out = append(out, a.Encapsulate(suffix))
	}
	return out
}

// Relays reports the node's reservation with each configured relay.
func (rc *Client) Relays() []RelayInfo {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]RelayInfo, 0, len(rc.relays))
	for _, ai := range rc.relays {
		s := rc.slots[ai.ID]
		info := RelayInfo{ID: ai.ID.String(), Reserved: s.reserved}
		for _, a := range ai.Addrs {
			info.Addrs = append(info.Addrs, a.String())
		}
		if s.reserved {
			info.Expires = s.expires
		} else {
			info.Error = s.lastErr
		}
		out = append(out, info)
	}
	return out
}

// sleepCtx waits for d, returning false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
