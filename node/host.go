package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	manet "github.com/multiformats/go-multiaddr/net"
)

// defaultListenAddrs listen on TCP and QUIC on every interface; port 0 lets
// the system pick, so several nodes can share a machine.
var defaultListenAddrs = []string{
	"/ip4/0.0.0.0/tcp/0",
	"/ip4/0.0.0.0/udp/0/quic-v1",
	"/ip6/::/tcp/0",
	"/ip6/::/udp/0/quic-v1",
}

// LabPublicCIDRsEnv names the environment variable that makes the given
// comma-separated CIDRs count as public addresses. It exists for test labs
// only: go-libp2p hole punches, and relays vouch, only for public
// addresses, so a lab that uses a reserved range such as 198.18.0.0/15 as
// its "internet" needs it. Never set it on a real network.
const LabPublicCIDRsEnv = "PEERCHAT_LAB_PUBLIC_CIDRS"

var labCIDRsOnce sync.Once

// applyLabPublicCIDRs removes every private or unroutable range that
// overlaps a CIDR named in PEERCHAT_LAB_PUBLIC_CIDRS from go-multiaddr's
// tables, once per process. The tables are process globals read by every
// libp2p host, so this runs before the first host is built and never again;
// a whole overlapping range is dropped, which is coarse but fine in a lab.
func applyLabPublicCIDRs(log *slog.Logger) {
	v := os.Getenv(LabPublicCIDRsEnv)
	if v == "" {
		return
	}
	labCIDRsOnce.Do(func() {
		var lab []*net.IPNet
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				log.Warn("ignoring bad CIDR in "+LabPublicCIDRsEnv, "cidr", s, "err", err)
				continue
			}
			lab = append(lab, n)
		}
		drop := func(ranges []*net.IPNet) []*net.IPNet {
			var keep []*net.IPNet
			for _, r := range ranges {
				overlaps := false
				for _, l := range lab {
					if r.Contains(l.IP) || l.Contains(r.IP) {
						overlaps = true
					}
				}
				if !overlaps {
					keep = append(keep, r)
				}
			}
			return keep
		}
		manet.Private4, manet.Unroutable4 = drop(manet.Private4), drop(manet.Unroutable4)
		manet.Private6, manet.Unroutable6 = drop(manet.Private6), drop(manet.Unroutable6)
		log.Warn("test lab mode: treating these ranges as public internet", "cidrs", v)
	})
}

// startHost builds the node's libp2p host (see newHost) with the circuit
// relay client, the relayed addresses this node holds reservations for,
// and hole punching (see relayclient.go). libp2p's own metrics go to the
// node's registry, or nowhere: never to the global one.
func (n *Node) startHost(key crypto.PrivKey) error {
	applyLabPublicCIDRs(n.log)
	rc, err := newRelayClient(n)
	if err != nil {
		return err
	}
	n.relay = rc
	opts := []libp2p.Option{
		libp2p.EnableRelay(),
		libp2p.AddrsFactory(rc.addrsFactory),
		libp2p.ConnectionGater(n.gater),
	}
	if n.cfg.Registry != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(n.cfg.Registry))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	h, err := newHost(key, n.cfg.ListenAddrs, append(opts, n.cfg.HostOptions...)...)
	if err != nil {
		return err
	}
	n.host = h
	return rc.attach(h)
}

// newHost builds a libp2p host with exactly the transports peerchat
// speaks: TCP (Noise or TLS, yamux) and QUIC, plus any extra options.
func newHost(key crypto.PrivKey, listen []string, extra ...libp2p.Option) (host.Host, error) {
	if len(listen) == 0 {
		listen = defaultListenAddrs
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
	}
	h, err := libp2p.New(append(opts, extra...)...)
	if err != nil {
		return nil, Errorf(CodeInvalid, "start libp2p host (check --listen): %w", err)
	}
	return h, nil
}

// newPubSub starts gossipsub tuned for chat. Envelopes carry their own
// signatures, so gossipsub's signing is off and a message is identified by
// the hash of its bytes, which makes the same envelope arriving by two
// paths one message. The queues are deeper than the defaults (32), which
// silently drop bursts. extra options come from Config.PubSubOptions (a
// relay's metrics tracer).
func newPubSub(ctx context.Context, h host.Host, extra ...pubsub.Option) (*pubsub.PubSub, error) {
	opts := []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			sum := sha256.Sum256(m.Data)
			return string(sum[:])
		}),
		pubsub.WithPeerOutboundQueueSize(1024),
		pubsub.WithValidateQueueSize(1024),
		pubsub.WithFloodPublish(true),
	}
	ps, err := pubsub.NewGossipSub(ctx, h, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("start gossipsub: %w", err)
	}
	return ps, nil
}
