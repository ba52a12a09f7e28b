package nat

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/host/autonat"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/peerchat/peerchat/node/internal/peering"
)

const (
	// punchDialTimeout bounds each direct dial of a hole punch; libp2p's
	// 10 s default makes a failing punch (three attempts) hold for 30 s.
	punchDialTimeout = 5 * time.Second
	// punchFirst is the wait before the first hole punch with a peer seen
	// only relayed (identify should be done by then). punchRetry is the
	// wait between attempts for the first punchPatience of the relayed
	// link; after that the wait doubles up to punchMaxRetry. libp2p tries
	// once, when the relayed connection opens, but a path can open later
	// (a NAT mapping, a firewall rule, a peer that moved networks).
	punchFirst     = 500 * time.Millisecond
	punchRetry     = 10 * time.Second
	punchPatience  = 2 * time.Minute
	punchMaxRetry  = 5 * time.Minute
	maintainPeriod = time.Second
	// relayedGrace is how long a relayed connection stays open after a
	// direct one to the same peer exists. Gossipsub keeps using the stream
	// it opened first, so the relayed connection is closed to move chat to
	// the direct path (and off the relay); the grace lets frames in flight
	// land first. Anything still lost is recovered by sync.
	relayedGrace = 2 * time.Second
	// observedTTL and maxObserved bound the public addresses peers said
	// they saw us at.
	observedTTL = 30 * time.Minute
	maxObserved = 16
	// reachRecheck is how long a reachability verdict stands; reachRetry
	// how soon a check that gave none is tried again; reachTimeout bounds
	// one (the relay's dial back may wait 15 s for a silent NAT).
	reachRecheck = 30 * time.Minute
	reachRetry   = 30 * time.Second
	reachTimeout = 30 * time.Second
)

// observedAddr is one of our public addresses as a peer observed it.
type observedAddr struct {
	addr ma.Multiaddr
	seen time.Time
}

// punchState schedules hole punch retries for one relayed-only peer.
type punchState struct {
	since    time.Time // when the peer was first seen relayed-only
	next     time.Time
	interval time.Duration
	running  bool
}

// startHolePunching builds the DCUtR service. It is built here rather than
// through libp2p.EnableHolePunching for three reasons. The node decides
// when to punch and which side starts: libp2p starts a punch from every
// peer that accepts a relayed connection, so two peers that dialled each
// other through the relay both start one, each as the initiator; their
// TCP simultaneous open then fails its security handshake ("noise: message
// is too short", seen in the NAT lab) and leaves the port pair in
// TIME_WAIT for a minute. The node tries again later, where libp2p tries
// once per relayed connection. And it tells DCUtR our public addresses as
// the relays observe them: behind NAT, libp2p only counts an observed
// address once four peers agree on it, and a node that knows only a relay
// has one observer.
func (rc *Client) startHolePunching(h host.Host) error {
	withIDs, ok := h.(interface{ IDService() identify.IDService })
	if !ok {
		rc.log.Warn("hole punching off: the host does not expose identify")
		return nil
	}
	tracer := punchTracer{rc}
	opt := holepunch.WithTracer(tracer)
	if rc.registry != nil {
		opt = holepunch.WithMetricsAndEventTracer(
			holepunch.NewMetricsTracer(holepunch.WithRegisterer(rc.registry)), tracer)
	}
	hp, err := holepunch.NewService(punchHost{h}, withIDs.IDService(), rc.holePunchAddrs,
		holepunch.DirectDialTimeout(punchDialTimeout), opt)
	if err != nil {
		return fmt.Errorf("start hole punching: %w", err)
	}
	rc.hp = hp
	return nil
}

// holePunchAddrs returns the public addresses a peer may punch to: the
// host's own public ones and those peers observed recently.
func (rc *Client) holePunchAddrs() []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range rc.host.Addrs() {
		if !peering.IsRelayed(a) && manet.IsPublicAddr(a) {
			out = append(out, a)
		}
	}
	rc.mu.Lock()
	for _, o := range rc.observed {
		if time.Since(o.seen) < observedTTL {
			out = append(out, o.addr)
		}
	}
	rc.mu.Unlock()
	return ma.Unique(out)
}

// watchReachability records AutoNAT's verdict on our reachability. The
// addresses peers observe us at come from identify, whose events the
// peering role reads and hands to Observe.
func (rc *Client) watchReachability(ctx context.Context) {
	sub, err := rc.host.EventBus().Subscribe(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		rc.log.Warn("watch AutoNAT", "err", err)
		return
	}
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			ev := e.(event.EvtLocalReachabilityChanged)
			rc.mu.Lock()
			rc.reach = ev.Reachability
			rc.mu.Unlock()
			rc.log.Info("AutoNAT reachability changed", "reachability", reachabilityName(ev.Reachability))
		}
	}
}

// Observe records the public address a peer saw us at, from identify;
// hole punches go to the addresses observed recently.
func (rc *Client) Observe(ev event.EvtPeerIdentificationCompleted) {
	a := ev.ObservedAddr
	if a == nil || ev.Conn == nil || peering.IsRelayed(ev.Conn.RemoteMultiaddr()) || peering.IsRelayed(a) || !manet.IsPublicAddr(a) {
		return
	}
	now := time.Now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.observed[string(a.Bytes())] = observedAddr{addr: a, seen: now}
	for key, o := range rc.observed {
		if now.Sub(o.seen) > observedTTL {
			delete(rc.observed, key)
		}
	}
	for len(rc.observed) > maxObserved {
		oldest := ""
		for key, o := range rc.observed {
			if oldest == "" || o.seen.Before(rc.observed[oldest].seen) {
				oldest = key
			}
		}
		delete(rc.observed, oldest)
	}
}

// maybeCheckReachability asks relay p to dial us back at the public
// addresses peers observed, unless a check ran recently. libp2p's own
// AutoNAT client tests only addresses the host advertises, and behind NAT
// the host advertises none until four peers observed the same one, so a
// node that knows only relays would never learn that it is private.
func (rc *Client) maybeCheckReachability(p peer.ID) {
	rc.mu.Lock()
	due := !rc.reachChecking && time.Since(rc.reachChecked) > reachRecheck
	if due {
		rc.reachChecking = true
	}
	rc.mu.Unlock()
	if !due {
		return
	}
	if !rc.tasks.Go(func() { rc.checkReachability(rc.tasks.Context(), p) }) {
		rc.mu.Lock()
		rc.reachChecking = false
		rc.mu.Unlock()
	}
}

func (rc *Client) checkReachability(ctx context.Context, p peer.ID) {
	verdict := network.ReachabilityUnknown
	addrs := rc.holePunchAddrs()
	var err error
	if len(addrs) > 0 {
		ctx, cancel := context.WithTimeout(ctx, reachTimeout)
		err = autonat.NewAutoNATClient(rc.host, func() []ma.Multiaddr { return addrs }, nil).DialBack(ctx, p)
		cancel()
		switch {
		case err == nil:
			verdict = network.ReachabilityPublic
		case autonat.IsDialError(err):
			verdict = network.ReachabilityPrivate
		}
	}
	rc.mu.Lock()
	rc.reachChecking = false
	switch {
	case verdict != network.ReachabilityUnknown:
		rc.reachChecked = time.Now() // a verdict stands for reachRecheck
	case len(addrs) > 0:
		rc.reachChecked = time.Now().Add(reachRetry - reachRecheck) // no answer
	}
	// No observed address yet: try again at the next probe.
	changed := verdict != network.ReachabilityUnknown && verdict != rc.reach
	if changed {
		rc.reach = verdict
	}
	rc.mu.Unlock()
	if changed {
		rc.log.Info("reachability checked through relay", "relay", p, "reachability", reachabilityName(verdict), "addrs", addrs)
	} else if err != nil && verdict == network.ReachabilityUnknown {
		rc.log.Debug("reachability check failed", "relay", p, "err", err)
	}
}

// Reachability is AutoNAT's verdict on whether peers can dial this node
// directly: "public", "private" or "unknown".
func (rc *Client) Reachability() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return reachabilityName(rc.reach)
}

func reachabilityName(r network.Reachability) string {
	switch r {
	case network.ReachabilityPublic:
		return "public"
	case network.ReachabilityPrivate:
		return "private"
	}
	return "unknown"
}

// maintain moves peers from relayed to direct connections: it closes a
// relayed connection once a direct one has stood for relayedGrace, and
// retries hole punching for peers still reachable only through a relay.
func (rc *Client) maintain(ctx context.Context) {
	t := time.NewTicker(maintainPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rc.tidyConns()
		rc.retryPunches()
	}
}

// tidyConns closes relayed connections to peers that also have a direct
// connection older than relayedGrace, and of two relayed connections that
// crossed (both peers dialled), the one the larger peer ID opened.
func (rc *Client) tidyConns() {
	nw := rc.host.Network()
	self := rc.host.ID()
	for _, p := range nw.Peers() {
		var relayed []network.Conn
		var directSince, newest time.Time
		in, out := false, false
		for _, c := range nw.ConnsToPeer(p) {
			opened := c.Stat().Opened
			if !peering.IsRelayed(c.RemoteMultiaddr()) {
				if directSince.IsZero() || opened.Before(directSince) {
					directSince = opened
				}
				continue
			}
			relayed = append(relayed, c)
			if opened.After(newest) {
				newest = opened
			}
			if c.Stat().Direction == network.DirInbound {
				in = true
			} else {
				out = true
			}
		}
		switch {
		case len(relayed) == 0:
		case !directSince.IsZero():
			if time.Since(directSince) < relayedGrace {
				continue
			}
			for _, c := range relayed {
				rc.log.Info("direct connection established; closing relayed one", "peer", p, "via", peering.RelayOf(c.RemoteMultiaddr()))
				c.Close()
			}
		case in && out && time.Since(newest) >= relayedGrace:
			drop := network.DirInbound // we dialled too and our ID is smaller: keep ours
			if self > p {
				drop = network.DirOutbound
			}
			for _, c := range relayed {
				if c.Stat().Direction == drop {
					rc.log.Debug("closing the duplicate relayed connection", "peer", p)
					c.Close()
				}
			}
		}
	}
}

// retryPunches starts a hole punch for every relayed-only peer whose
// attempt is due: the first punchFirst after the relayed link appears,
// then every punchRetry. Exactly one side punches: the one that accepted
// the relayed connection, as in libp2p; when both dialled, the smaller
// peer ID.
func (rc *Client) retryPunches() {
	if rc.hp == nil || !slices.Contains(rc.host.Mux().Protocols(), holepunch.Protocol) {
		// No public address yet: DirectConnect would block until there is.
		return
	}
	nw := rc.host.Network()
	self := rc.host.ID()
	now := time.Now()
	due := map[peer.ID]bool{}
	for _, p := range nw.Peers() {
		inbound, outbound, direct := false, false, false
		for _, c := range nw.ConnsToPeer(p) {
			switch {
			case !peering.IsRelayed(c.RemoteMultiaddr()):
				direct = true
			case c.Stat().Direction == network.DirInbound:
				inbound = true
			default:
				outbound = true
			}
		}
		if direct || !inbound || (outbound && self > p) {
			continue
		}
		due[p] = true
	}
	var start []peer.ID
	rc.mu.Lock()
	for p := range rc.punches {
		if !due[p] && !rc.punches[p].running {
			delete(rc.punches, p)
		}
	}
	for p := range due {
		st, ok := rc.punches[p]
		if !ok {
			rc.punches[p] = &punchState{since: now, next: now.Add(punchFirst), interval: punchRetry}
			continue
		}
		if !st.running && !now.Before(st.next) {
			st.running = true
			start = append(start, p)
		}
	}
	rc.mu.Unlock()
	for _, p := range start {
		if !rc.tasks.Go(func() { rc.punch(p) }) {
			rc.mu.Lock()
			rc.punches[p].running = false
			rc.mu.Unlock()
		}
	}
}

// punch runs one hole punch attempt with p and schedules the next.
func (rc *Client) punch(p peer.ID) {
	err := rc.hp.DirectConnect(p)
	rc.mu.Lock()
	st := rc.punches[p]
	st.running = false
	if time.Since(st.since) > punchPatience {
		st.interval = min(2*st.interval, punchMaxRetry)
	}
	wait := peering.Jitter(st.interval)
	st.next = time.Now().Add(wait)
	rc.mu.Unlock()
	switch {
	case err == nil:
		rc.failed.Forget("punch", p)
	case rc.tasks.Context().Err() == nil:
		cause := peering.Cause(err)
		if rc.failed.First("punch", p, cause) {
			rc.log.Info("hole punch attempt failed: "+cause+"; the link stays relayed", "peer", p, "next_in", wait.Round(time.Second), "err", err)
		} else {
			rc.log.Debug("hole punch attempt failed again: "+cause, "peer", p, "next_in", wait.Round(time.Second), "err", err)
		}
	}
}

// punchHost is the host as the DCUtR service sees it. It hides connection
// notifications, which would make the service start a punch on every
// inbound relayed connection; the node starts punches itself
// (retryPunches). And it hides peers' direct addresses: before punching,
// libp2p dials any public address it knows for the peer, which for a peer
// behind NAT is the address a previous punch learned. That dial fails, but
// leaves a mapping in our NAT which lets the peer's punch packet in before
// our own punch has started; it then reaches our listener, not our dial,
// and the half-open connection it makes blocks that port pair for a
// minute (seen in the NAT lab). The node's dialer tries known direct
// addresses anyway.
type punchHost struct{ host.Host }

func (h punchHost) Network() network.Network       { return quietNetwork{h.Host.Network()} }
func (h punchHost) Peerstore() peerstore.Peerstore { return relayedOnly{h.Host.Peerstore()} }

type relayedOnly struct{ peerstore.Peerstore }

func (ps relayedOnly) Addrs(p peer.ID) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range ps.Peerstore.Addrs(p) {
		if peering.IsRelayed(a) {
			out = append(out, a)
		}
	}
	return out
}

type quietNetwork struct{ network.Network }

func (quietNetwork) Notify(network.Notifiee)     {}
func (quietNetwork) StopNotify(network.Notifiee) {}

// punchTracer logs the outcome of hole punches.
type punchTracer struct{ rc *Client }

func (t punchTracer) Trace(e *holepunch.Event) {
	switch ev := e.Evt.(type) {
	case *holepunch.EndHolePunchEvt:
		if ev.Success {
			t.rc.log.Info("hole punch succeeded", "peer", e.Remote, "took", ev.EllapsedTime)
		} else {
			// punch logs the attempt's outcome once for each cause.
			t.rc.log.Debug("hole punch failed: "+peering.CauseText(ev.Error), "peer", e.Remote, "took", ev.EllapsedTime, "err", ev.Error)
		}
	case *holepunch.DirectDialEvt:
		if ev.Success {
			t.rc.log.Info("direct dial succeeded without a hole punch", "peer", e.Remote)
		}
	case *holepunch.ProtocolErrorEvt:
		t.rc.log.Debug("hole punch protocol error", "peer", e.Remote, "err", ev.Error)
	}
}
