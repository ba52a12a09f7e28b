package peering

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

const (
	minRedial   = 500 * time.Millisecond
	maxRedial   = 60 * time.Second
	dialTimeout = 15 * time.Second
)

// Dialer keeps the node connected to the peers it wants: bootstrap peers,
// peers found by mDNS and peers remembered from earlier runs. A peer that
// drops is dialled again with jittered exponential backoff, so peers that
// come back find each other, and two peers never retry in lockstep.
type Dialer struct {
	host host.Host
	log  *slog.Logger
	kick chan struct{}
	// failed logs a peer's failed dials once for each cause.
	failed Once

	mu     sync.Mutex
	wanted map[peer.ID]*redial // guarded by mu
}

type redial struct {
	next    time.Time
	backoff time.Duration
	dialing bool
}

func newDialer(h host.Host, log *slog.Logger) *Dialer {
	d := &Dialer{host: h, log: log, kick: make(chan struct{}, 1), wanted: map[peer.ID]*redial{}}
	h.Network().Notify(&network.NotifyBundle{
		DisconnectedF: func(_ network.Network, c network.Conn) { d.disconnected(c.RemotePeer()) },
	})
	return d
}

// Want adds ai to the peers kept connected; the first dial happens after
// delay.
func (d *Dialer) Want(ai peer.AddrInfo, delay time.Duration) {
	if ai.ID == d.host.ID() {
		return
	}
	d.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
	d.mu.Lock()
	if r, ok := d.wanted[ai.ID]; ok {
		if when := time.Now().Add(delay); when.Before(r.next) {
			r.next = when
		}
	} else {
		d.wanted[ai.ID] = &redial{next: time.Now().Add(delay), backoff: minRedial}
	}
	d.mu.Unlock()
	d.poke()
}

func (d *Dialer) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Dialer) disconnected(p peer.ID) {
	d.mu.Lock()
	r, ok := d.wanted[p]
	if ok && !r.dialing {
		r.next = time.Now().Add(Jitter(minRedial))
	}
	d.mu.Unlock()
	if ok {
		d.poke()
	}
}

// Jitter spreads d over [d/2, 3d/2), so that peers that start together
// do not retry together.
func Jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

// run dials wanted peers whose time has come until ctx ends.
func (d *Dialer) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-d.kick:
		}
		now := time.Now()
		wake := now.Add(maxRedial)
		d.mu.Lock()
		for p, r := range d.wanted {
			if r.dialing {
				continue
			}
			// A relayed (limited) connection counts: hole punching, not
			// this loop, upgrades it to a direct one.
			if c := d.host.Network().Connectedness(p); c == network.Connected || c == network.Limited {
				r.backoff = minRedial
				continue
			}
			if r.next.After(now) {
				if r.next.Before(wake) {
					wake = r.next
				}
				continue
			}
			r.dialing = true
			wg.Add(1)
			go func() { defer wg.Done(); d.dial(ctx, p) }()
		}
		d.mu.Unlock()
		timer.Reset(time.Until(wake))
	}
}

func (d *Dialer) dial(parent context.Context, p peer.ID) {
	ctx, cancel := context.WithTimeout(parent, dialTimeout)
	defer cancel()
	err := d.host.Connect(ctx, peer.AddrInfo{ID: p})
	d.mu.Lock()
	if r, ok := d.wanted[p]; ok {
		r.dialing = false
		if err == nil {
			// Never redial sooner than minRedial, even if the connection
			// just made is gone again at once.
			r.next = time.Now().Add(Jitter(minRedial))
			r.backoff = minRedial
		} else {
			r.next = time.Now().Add(Jitter(r.backoff))
			r.backoff = min(2*r.backoff, maxRedial)
		}
	}
	d.mu.Unlock()
	switch {
	case err == nil:
		d.failed.Forget("dial", p)
	case parent.Err() == nil: // not the node closing
		cause := Cause(err)
		if d.failed.First("dial", p, cause) {
			d.log.Info("dial failed: "+cause, "peer", p, "err", err)
		} else {
			d.log.Debug("dial failed again: "+cause, "peer", p, "err", err)
		}
	}
	d.poke()
}

// addrsOf returns p's known addresses, without relay circuits, which are
// only worth keeping while the relay is.
func addrsOf(h host.Host, p peer.ID) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range h.Peerstore().Addrs(p) {
		if IsRelayed(a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Forget stops keeping p connected.
func (d *Dialer) Forget(p peer.ID) {
	d.mu.Lock()
	delete(d.wanted, p)
	d.mu.Unlock()
	d.failed.Forget("dial", p)
}
