package main

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/peerchat/peerchat/protocol"
)

// The floor is what go-libp2p-pubsub alone costs: a host with the same
// transports, security and muxer as a peerchat node (node/host.go) and
// gossipsub with the same settings (StrictNoSign, message ID = SHA-256 of
// the data, deeper queues, flood publishing), but no envelope, no
// signature of our own, no validation, no store, no event log and no API.
// Keeping the settings identical is what lets the ratio peerchat/floor
// name the cost of peerchat's own layers and nothing else.

// listenAddrs returns the loopback listen address for a transport name.
func listenAddrs(transport string) ([]string, error) {
	switch transport {
	case "", "tcp":
		return []string{"/ip4/127.0.0.1/tcp/0"}, nil
	case "quic":
		return []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, nil
	}
	return nil, fmt.Errorf("unknown transport %q (want tcp or quic)", transport)
}

// newFloorHostOnly builds a bare libp2p host set up like peerchat's.
func newFloorHostOnly(transport string, extra ...libp2p.Option) (host.Host, error) {
	listen, err := listenAddrs(transport)
	if err != nil {
		return nil, err
	}
	opts := []libp2p.Option{
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableMetrics(),
	}
	h, err := libp2p.New(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("floor host: %w", err)
	}
	return h, nil
}

// floorMember is one bare gossipsub host joined to the room's topic.
type floorMember struct {
	h     host.Host
	ps    *pubsub.PubSub
	topic *pubsub.Topic
	sub   *pubsub.Subscription
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{}
}

func newFloorMember(transport, room string) (*floorMember, error) {
	h, err := newFloorHostOnly(transport)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			sum := sha256.Sum256(m.Data)
			return string(sum[:])
		}),
		pubsub.WithPeerOutboundQueueSize(1024),
		pubsub.WithValidateQueueSize(1024),
		pubsub.WithFloodPublish(true),
	)
	if err != nil {
		cancel()
		h.Close()
		return nil, fmt.Errorf("floor gossipsub: %w", err)
	}
	topic, err := ps.Join(protocol.Topic(room))
	if err != nil {
		cancel()
		h.Close()
		return nil, fmt.Errorf("floor join: %w", err)
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(4096))
	if err != nil {
		cancel()
		h.Close()
		return nil, fmt.Errorf("floor subscribe: %w", err)
	}
	return &floorMember{h: h, ps: ps, topic: topic, sub: sub, ctx: ctx, stop: cancel, done: make(chan struct{})}, nil
}

func (f *floorMember) id() peer.ID      { return f.h.ID() }
func (f *floorMember) addrs() []string  { return p2pAddrs(f.h) }
func (f *floorMember) topicPeers() int  { return len(f.topic.ListPeers()) }
func (f *floorMember) connections() int { return len(f.h.Network().Peers()) }
func (f *floorMember) connect(ctx context.Context, addr string) error {
	return connectAddr(ctx, f.h, addr)
}

func (f *floorMember) publish(ctx context.Context, text string) error {
	return f.topic.Publish(ctx, []byte(text))
}

// receive calls fn with every payload another host published, at the
// moment the subscription hands it over.
func (f *floorMember) receive(fn func(text string)) {
	go func() {
		defer close(f.done)
		for {
			m, err := f.sub.Next(f.ctx)
			if err != nil {
				return
			}
			if m.ReceivedFrom == f.h.ID() {
				continue
			}
			fn(string(m.Data))
		}
	}()
}

func (f *floorMember) close() error {
	f.stop()
	f.sub.Cancel()
	f.topic.Close()
	return f.h.Close()
}

// p2pAddrs returns h's addresses with the /p2p/ part.
func p2pAddrs(h host.Host) []string {
	ai := peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
	mas, _ := peer.AddrInfoToP2pAddrs(&ai)
	out := make([]string, len(mas))
	for i, a := range mas {
		out[i] = a.String()
	}
	return out
}

func connectAddr(ctx context.Context, h host.Host, addr string) error {
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return fmt.Errorf("parse %s: %w", addr, err)
	}
	if err := h.Connect(ctx, *ai); err != nil {
		return fmt.Errorf("connect %s: %w", ai.ID, err)
	}
	return nil
}
