package relay

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	circuit "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/x/rate"
)

// Limits bound what one relay process gives away. The zero value of each
// field picks the default in parentheses, sized for a small VPS serving
// chat; see docs/relay.md for what each one protects.
//
// CircuitDuration and CircuitData are the exception: zero means unlimited,
// and unlimited is the point. libp2p marks a relayed connection with any
// limit as "limited", and gossipsub and peerchat's sync stream do not run
// over limited connections, so a limited relay can only carry hole punch
// coordination, while chat between peers that cannot punch flows through
// the relay's own gossip instead of peer to peer.
type Limits struct {
	// MaxReservations is how many peers may hold a slot at once (1024).
	MaxReservations int
	// MaxReservationsPerIP caps slots from one IP address (16): peers
	// behind one carrier-grade NAT share an address, one host should not
	// take every slot.
	MaxReservationsPerIP int
	// MaxReservationsPerASN caps slots from one IPv6 network operator (64).
	MaxReservationsPerASN int
	// ReservationTTL is how long a slot lasts unless renewed (1 h); peers
	// renew at half-time.
	ReservationTTL time.Duration
	// MaxCircuits is how many relayed connections may be open at once in
	// total (4096); each costs two streams and 2×BufferSize of memory.
	MaxCircuits int
	// MaxCircuitsPerPeer caps relayed connections to or from one peer (64):
	// a peer has one to each room peer it has not yet reached directly.
	MaxCircuitsPerPeer int
	// CircuitDuration and CircuitData cut a relayed connection after this
	// long or this many bytes in each direction; zero means no limit.
	CircuitDuration time.Duration
	CircuitData     int64
	// BufferSize is the copy buffer of each direction of a circuit (4096).
	BufferSize int
	// MaxConns caps open connections, and so file descriptors (4096);
	// keep it below the process's open-files limit.
	MaxConns int
	// MaxConnsPerIP caps connections from one IP address (64).
	MaxConnsPerIP int
	// ConnRatePerIP is how many new connections per second one IP address
	// may open in the long run (1), with bursts of MaxConnsPerIP.
	ConnRatePerIP float64
}

// WithDefaults returns l with every zero field set to its default, so
// flags and documentation can show the numbers a zero Limits means.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxReservations, 1024)
	def(&l.MaxReservationsPerIP, 16)
	def(&l.MaxReservationsPerASN, 64)
	def(&l.MaxCircuits, 4096)
	def(&l.MaxCircuitsPerPeer, 64)
	def(&l.BufferSize, 4096)
	def(&l.MaxConns, 4096)
	def(&l.MaxConnsPerIP, 64)
	if l.ReservationTTL <= 0 {
		l.ReservationTTL = time.Hour
	}
	if l.ConnRatePerIP <= 0 {
		l.ConnRatePerIP = 1
	}
	return l
}

// Limited reports whether relayed connections carry a duration or data
// limit, which makes libp2p treat them as limited.
func (l Limits) Limited() bool { return l.CircuitDuration > 0 || l.CircuitData > 0 }

// resources converts the limits into the relay service's terms. A limit on
// only one of duration and data leaves the other practically unbounded:
// libp2p's relay takes a zero duration literally and cuts at once.
func (l Limits) resources() relayv2.Resources {
	rc := relayv2.Resources{
		ReservationTTL:         l.ReservationTTL,
		MaxReservations:        l.MaxReservations,
		MaxCircuits:            l.MaxCircuitsPerPeer,
		BufferSize:             l.BufferSize,
		MaxReservationsPerPeer: 1,
		MaxReservationsPerIP:   l.MaxReservationsPerIP,
		MaxReservationsPerASN:  l.MaxReservationsPerASN,
	}
	if l.Limited() {
		rc.Limit = &relayv2.RelayLimit{Duration: l.CircuitDuration, Data: l.CircuitData}
		if rc.Limit.Duration <= 0 {
			rc.Limit.Duration = 100 * 365 * 24 * time.Hour
		}
		if rc.Limit.Data <= 0 {
			rc.Limit.Data = math.MaxInt64
		}
	}
	return rc
}

// resourceManager sizes libp2p's resource manager to the relay limits. The
// defaults scale with memory and file descriptors for a general node;
// here the relay's own scopes must hold MaxCircuits circuits (two streams
// each), every peer scope must hold its share of circuits besides its
// gossip and sync streams, and the connection count must stay within the
// file descriptors the process has.
func (l Limits) resourceManager() (network.ResourceManager, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	base := scaling.AutoScale()

	circuitMem := int64(l.MaxCircuits) * int64(2*l.BufferSize+8<<10)
	perPeerStreams := rcmgr.LimitVal(2*l.MaxCircuitsPerPeer + 256)
	relayScope := rcmgr.ResourceLimits{
		StreamsInbound:  rcmgr.LimitVal(l.MaxCircuits + l.MaxReservations),
		StreamsOutbound: rcmgr.LimitVal(l.MaxCircuits),
		Streams:         rcmgr.LimitVal(2*l.MaxCircuits + l.MaxReservations),
		Memory:          rcmgr.LimitVal64(circuitMem + 64<<20),
	}
	relayPeer := rcmgr.ResourceLimits{
		StreamsInbound:  rcmgr.LimitVal(l.MaxCircuitsPerPeer + 4),
		StreamsOutbound: rcmgr.LimitVal(l.MaxCircuitsPerPeer + 4),
		Streams:         rcmgr.LimitVal(2*l.MaxCircuitsPerPeer + 8),
		Memory:          rcmgr.LimitVal64(int64(l.MaxCircuitsPerPeer)*int64(2*l.BufferSize+8<<10) + 1<<20),
	}
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns:         rcmgr.LimitVal(l.MaxConns),
			ConnsInbound:  rcmgr.LimitVal(l.MaxConns),
			ConnsOutbound: rcmgr.LimitVal(l.MaxConns),
			FD:            rcmgr.LimitVal(l.MaxConns),
			Streams:       rcmgr.Unlimited,
			Memory:        rcmgr.LimitVal64(max(base.ToPartialLimitConfig().System.Memory.Build(0), circuitMem+512<<20)),
		},
		Transient: rcmgr.ResourceLimits{
			Conns:        rcmgr.LimitVal(max(l.MaxConns/8, 64)),
			ConnsInbound: rcmgr.LimitVal(max(l.MaxConns/8, 64)),
			FD:           rcmgr.LimitVal(max(l.MaxConns/8, 64)),
		},
		PeerDefault: rcmgr.ResourceLimits{
			StreamsInbound:  perPeerStreams,
			StreamsOutbound: perPeerStreams,
			Streams:         2 * perPeerStreams,
		},
		Service:     map[string]rcmgr.ResourceLimits{relayv2.ServiceName: relayScope},
		ServicePeer: map[string]rcmgr.ResourceLimits{relayv2.ServiceName: relayPeer},
		Protocol: map[protocolID]rcmgr.ResourceLimits{
			circuit.ProtoIDv2Hop:  relayScope,
			circuit.ProtoIDv2Stop: relayScope,
		},
		ProtocolPeer: map[protocolID]rcmgr.ResourceLimits{
			circuit.ProtoIDv2Hop:  relayPeer,
			circuit.ProtoIDv2Stop: relayPeer,
		},
	}
	limiter := rcmgr.NewFixedLimiter(partial.Build(base))
	perIP := []rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: l.MaxConnsPerIP}}
	perNet6 := []rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: l.MaxConnsPerIP}}
	rateLimiter := &rate.Limiter{
		NetworkPrefixLimits: []rate.PrefixLimit{
			{Prefix: netip.MustParsePrefix("127.0.0.0/8")},
			{Prefix: netip.MustParsePrefix("::1/128")},
		},
		SubnetRateLimiter: rate.SubnetLimiter{
			IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: rate.Limit{RPS: l.ConnRatePerIP, Burst: l.MaxConnsPerIP}}},
			IPv6SubnetLimits: []rate.SubnetLimit{{PrefixLength: 56, Limit: rate.Limit{RPS: l.ConnRatePerIP, Burst: l.MaxConnsPerIP}}},
			GracePeriod:      time.Minute,
		},
	}
	rm, err := rcmgr.NewResourceManager(limiter,
		rcmgr.WithLimitPerSubnet(perIP, perNet6),
		rcmgr.WithConnRateLimiters(rateLimiter),
	)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}
