package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// The relay's load comes from "clients" children: many light libp2p hosts
// that listen nowhere (as peers behind NAT do), each holding a
// reservation, and pairs of them chatting through circuits. They are the
// harness, not what is measured, so they are built as cheaply as libp2p
// allows: TCP and Noise only, no resource manager, no metrics.

const chatProtocol = "/peerchat-bench/chat/1"

type clientsArgs struct {
	Count int    `json:"count"`
	Relay string `json:"relay"` // the relay's address with /p2p/
}

type clientsChild struct {
	args  clientsArgs
	relay peer.AddrInfo
	hosts []host.Host
	log   *slog.Logger
}

func init() { registerChild("clients", startClientsChild) }

func startClientsChild(ctx context.Context, raw json.RawMessage, log *slog.Logger) (childHandler, error) {
	var a clientsArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("clients args: %w", err)
	}
	ai, err := peer.AddrInfoFromString(a.Relay)
	if err != nil {
		return nil, fmt.Errorf("relay address: %w", err)
	}
	c := &clientsChild{args: a, relay: *ai, log: log}
	for i := 0; i < a.Count; i++ {
		h, err := libp2p.New(
			libp2p.NoListenAddrs,
			libp2p.Transport(tcp.NewTCPTransport),
			libp2p.Security(noise.ID, noise.New),
			libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
			libp2p.ResourceManager(&network.NullResourceManager{}),
			libp2p.DisableMetrics(),
			libp2p.EnableRelay(),
		)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("client host %d: %w", i, err)
		}
		h.SetStreamHandler(chatProtocol, echo)
		c.hosts = append(c.hosts, h)
	}
	return c, nil
}

// echo answers every chat message with the same bytes.
func echo(s network.Stream) {
	defer s.Close()
	io.Copy(s, s)
}

func (c *clientsChild) close() error {
	var errs []error
	for _, h := range c.hosts {
		errs = append(errs, h.Close())
	}
	return errors.Join(errs...)
}

type reserveRes struct {
	OK      int      `json:"ok"`
	Failed  int      `json:"failed"`
	Errors  []string `json:"errors,omitempty"`
	Seconds float64  `json:"seconds"`
	IDs     []string `json:"ids"`
}

type chatReq struct {
	Pairs    int `json:"pairs"`
	Messages int `json:"messages"`
}

type chatRes struct {
	Open    int     `json:"open"`    // circuits opened
	Held    int     `json:"held"`    // circuits still open after every chat finished
	RTTs    []int64 `json:"rtts_ns"` // one per message
	Failed  int     `json:"failed"`
	Errors  []string
	Seconds float64 `json:"seconds"`
}

func (c *clientsChild) handle(ctx context.Context, op string, data json.RawMessage) (any, error) {
	switch op {
	case "reserve":
		return c.reserve(ctx), nil
	case "chat":
		var r chatReq
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, err
		}
		return c.chat(ctx, r), nil
	case "cpu":
		return cpuSeconds(), nil
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

// reserve has every host reserve a slot on the relay, 64 at a time.
func (c *clientsChild) reserve(ctx context.Context) reserveRes {
	var (
		res reserveRes
		mu  sync.Mutex
		wg  sync.WaitGroup
	)
	start := time.Now()
	sem := make(chan struct{}, 64)
	for _, h := range c.hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			_, err := client.Reserve(rctx, h, c.relay)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed++
				if len(res.Errors) < 5 {
					res.Errors = append(res.Errors, err.Error())
				}
				return
			}
			res.OK++
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	return res
}

// chat pairs host 2k+1 with host 2k through the relay: it opens a circuit,
// then a stream, and exchanges r.Messages 64-byte messages one after the
// other, timing each round trip. Every chat runs at once, and every
// circuit is kept open until all have finished, so Held is how many
// relayed chats the relay carried concurrently.
func (c *clientsChild) chat(ctx context.Context, r chatReq) chatRes {
	var (
		res   chatRes
		mu    sync.Mutex
		wg    sync.WaitGroup
		open  atomic.Int64
		ready sync.WaitGroup
	)
	pairs := min(r.Pairs, len(c.hosts)/2)
	start := time.Now()
	conns := make([]network.Conn, pairs)
	ready.Add(pairs)
	sem := make(chan struct{}, 64) // dial 64 circuits at a time
	for k := 0; k < pairs; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b := c.hosts[2*k], c.hosts[2*k+1]
			fail := func(err error) {
				mu.Lock()
				res.Failed++
				if len(res.Errors) < 5 {
					res.Errors = append(res.Errors, err.Error())
				}
				mu.Unlock()
			}
			sem <- struct{}{}
			circuit, err := ma.NewMultiaddr(c.relay.Addrs[0].String() + "/p2p/" + c.relay.ID.String() + "/p2p-circuit")
			if err == nil {
				cctx, cancel := context.WithTimeout(network.WithAllowLimitedConn(ctx, "bench"), time.Minute)
				err = b.Connect(cctx, peer.AddrInfo{ID: a.ID(), Addrs: []ma.Multiaddr{circuit}})
				cancel()
			}
			<-sem
			if err != nil {
				ready.Done()
				fail(err)
				return
			}
			open.Add(1)
			if cs := b.Network().ConnsToPeer(a.ID()); len(cs) > 0 {
				conns[k] = cs[0]
			}
			ready.Done()
			ready.Wait() // every circuit is open before any chat starts
			rtts, err := chatOver(ctx, b, a.ID(), r.Messages)
			mu.Lock()
			res.RTTs = append(res.RTTs, rtts...)
			mu.Unlock()
			if err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	res.Open = int(open.Load())
	for _, cn := range conns {
		if cn != nil && !cn.IsClosed() {
			res.Held++
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res
}

func chatOver(ctx context.Context, h host.Host, to peer.ID, n int) ([]int64, error) {
	sctx, cancel := context.WithTimeout(network.WithAllowLimitedConn(ctx, "bench"), time.Minute)
	defer cancel()
	s, err := h.NewStream(sctx, to, chatProtocol)
	if err != nil {
		return nil, fmt.Errorf("open chat stream: %w", err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(time.Minute))
	msg := make([]byte, 64)
	back := make([]byte, 64)
	var rtts []int64
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint64(msg, uint64(i))
		t := time.Now()
		if _, err := s.Write(msg); err != nil {
			return rtts, fmt.Errorf("chat write: %w", err)
		}
		if _, err := io.ReadFull(s, back); err != nil {
			return rtts, fmt.Errorf("chat read: %w", err)
		}
		rtts = append(rtts, int64(time.Since(t)))
	}
	return rtts, nil
}
