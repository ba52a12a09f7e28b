package node

import (
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerchat/peerchat/node/internal/abuse"
)

// defaultListenAddrs listen on TCP and QUIC on every interface; port 0 lets
// the system pick, so several nodes can share a machine.
var defaultListenAddrs = []string{
	"/ip4/0.0.0.0/tcp/0",
	"/ip4/0.0.0.0/udp/0/quic-v1",
	"/ip6/::/tcp/0",
	"/ip6/::/udp/0/quic-v1",
}

// newHost builds the node's libp2p host with exactly the transports
// peerchat speaks, TCP (Noise or TLS, yamux) and QUIC, and the options of
// hostOptions. addrs adds the relayed addresses to the host's own.
func newHost(key crypto.PrivKey, cfg Config, addrs func([]ma.Multiaddr) []ma.Multiaddr, gater *abuse.Gater) (host.Host, error) {
	listen := cfg.ListenAddrs
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
	h, err := libp2p.New(append(opts, hostOptions(cfg, addrs, gater)...)...)
	if err != nil {
		return nil, Errorf(CodeInvalid, "start libp2p host (check --listen): %w", err)
	}
	return h, nil
}
