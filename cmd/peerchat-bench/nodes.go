package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/node/api"
	"github.com/peerchat/peerchat/protocol"
)

// benchRateLimit lifts the per-author rate limit (50/s by default) that
// would otherwise drop a benchmark's traffic, which is one author sending
// far faster than any person. It is a setting every user has.
var benchRateLimit = node.RateLimit{PerSecond: 1e9, Burst: 1 << 30}

// nodeOptions are what a scenario varies between the nodes it starts.
type nodeOptions struct {
	Transport string
	Rooms     []string
	Bootstrap []string
	Logger    *slog.Logger
	Extra     func(*node.Config)
}

// startNode starts a real peerchat node in dir, listening on loopback
// only, with mDNS off so that concurrent runs on the machine never meet.
func startNode(ctx context.Context, dir string, o nodeOptions) (*node.Node, error) {
	listen, err := listenAddrs(o.Transport)
	if err != nil {
		return nil, err
	}
	cfg := node.Config{
		DataDir:     dir,
		Name:        "bench-" + filepath.Base(dir),
		ListenAddrs: listen,
		NoMDNS:      true,
		Rooms:       o.Rooms,
		Bootstrap:   o.Bootstrap,
		RateLimit:   benchRateLimit,
		Logger:      o.Logger,
	}
	if o.Extra != nil {
		o.Extra(&cfg)
	}
	n, err := node.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start node in %s: %w", dir, err)
	}
	return n, nil
}

// nodeMember is a peerchat node used through its Go API: Send to post,
// Subscribe to see messages arrive.
type nodeMember struct {
	n    *node.Node
	room string
	ctx  context.Context
	stop context.CancelFunc
}

func newNodeMember(ctx context.Context, dir string, o nodeOptions) (*nodeMember, error) {
	n, err := startNode(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.Background())
	return &nodeMember{n: n, room: o.Rooms[0], ctx: mctx, stop: cancel}, nil
}

func (m *nodeMember) id() peer.ID      { return m.n.ID() }
func (m *nodeMember) connections() int { return len(m.n.Host().Network().Peers()) }
func (m *nodeMember) addrs() []string {
	out := []string{}
	for _, a := range m.n.Addrs() {
		out = append(out, a.String())
	}
	return out
}

func (m *nodeMember) topicPeers() int {
	for _, r := range m.n.Rooms() {
		if r.Name == m.room {
			return r.Peers
		}
	}
	return 0
}

// connect dials another node the way a bootstrap address would; the
// node's dialer keeps it connected afterwards.
func (m *nodeMember) connect(ctx context.Context, addr string) error {
	return connectAddr(ctx, m.n.Host(), addr)
}

func (m *nodeMember) publish(ctx context.Context, text string) error {
	_, _, err := m.n.Send(ctx, m.room, text, "")
	return err
}

// receive calls fn with the text of every message another author sent,
// when the node's event log hands it to a subscriber: stored, logged and
// announced, as a UI would see it.
func (m *nodeMember) receive(fn func(text string)) {
	self := m.n.ID().String()
	ch, err := m.n.Subscribe(m.ctx, m.n.LastSeq())
	if err != nil {
		return
	}
	go func() {
		for ev := range ch {
			if ev.Type == protocol.EventMessage && ev.Message != nil && ev.Message.Author != self {
				fn(ev.Message.Text)
			}
		}
	}()
}

func (m *nodeMember) close() error {
	m.stop()
	return m.n.Close()
}

// member is what the fanout and throughput scenarios drive: a peerchat
// node or a floor host.
type member interface {
	id() peer.ID
	addrs() []string
	connect(ctx context.Context, addr string) error
	connections() int
	topicPeers() int
	publish(ctx context.Context, text string) error
	receive(fn func(text string))
	close() error
}

// apiServer serves a node's HTTP API on a loopback port, as `peerchat`
// does.
type apiServer struct {
	srv   *http.Server
	addr  string
	token string
}

const benchToken = "peerchat-bench-token-0123456789"

func serveAPI(n *node.Node, log *slog.Logger) (*apiServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for API: %w", err)
	}
	s := &apiServer{
		srv:   &http.Server{Handler: api.New(n, api.Options{Token: benchToken, Logger: log}), ReadHeaderTimeout: 10 * time.Second},
		addr:  ln.Addr().String(),
		token: benchToken,
	}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *apiServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// waitUntil polls cond every 20 ms until it holds, or fails when the
// deadline passes: scenarios wait on conditions, never on bare sleeps.
func waitUntil(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// tempDir makes a folder under the run's work folder.
func tempDir(parent, pattern string) (string, error) {
	d, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", fmt.Errorf("make temp folder: %w", err)
	}
	return d, nil
}

// hostOption is a small alias so scenario files need not import libp2p.
type hostOption = libp2p.Option
