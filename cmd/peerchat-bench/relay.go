package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/relay"
)

// clientsPerProc keeps each clients child well under the open-files cap
// (one connection per client host).
const clientsPerProc = 5000

func init() {
	register(scenario{
		name:    "relay",
		rank:    60,
		summary: "one relay process under many reservations and relayed chats at once",
		flags: func(fs *flag.FlagSet) runFunc {
			ro := &relayOptions{}
			fs.IntVar(&ro.Reservations, "reservations", 1000, "relay: peers holding a reservation at once")
			fs.IntVar(&ro.Chats, "chats", 100, "relay: concurrent relayed chats (pairs of peers)")
			fs.IntVar(&ro.ChatMessages, "chat-messages", 20, "relay: messages each chat exchanges through the relay")
			return func(ctx context.Context, o *options) (*Report, error) {
				ro.options = o
				return runRelay(ctx, ro)
			}
		},
		smallest: []string{"--reservations", "10", "--chats", "3", "--chat-messages", "3"},
	})
	registerChild("relay", startRelayChild)
}

// relayOptions are relay's flags.
type relayOptions struct {
	*options
	Reservations int
	Chats        int
	ChatMessages int
}

// runRelay loads one relay process (a child, so its RSS and CPU are its
// own) with o.Reservations peers holding a reservation and o.Chats pairs
// of them chatting through it at once. The floor is a bare go-libp2p
// circuit relay v2 service on a bare host, loaded the same way.
func runRelay(ctx context.Context, o *relayOptions) (*Report, error) {
	rep := newReport("relay")
	rep.Params["reservations"] = o.Reservations
	rep.Params["chats"] = o.Chats
	rep.Params["chat_messages"] = o.ChatMessages
	floor, err := relayOnce(ctx, o, "floor")
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	pc, err := relayOnce(ctx, o, "peerchat")
	if err != nil {
		return nil, fmt.Errorf("peerchat: %w", err)
	}
	mb := func(kb int) float64 { return float64(kb) / 1024 }
	// The targets are judged only on a run asked to reach them: the short
	// default run is not a failure.
	row := rep.addVs("reservations held (relay's count)", "", float64(pc.loadedStats.Reservations), float64(floor.loadedStats.Reservations))
	if o.Reservations >= 15000 {
		row.judge("≥ 15000", pc.loadedStats.Reservations >= 15000)
	} else {
		row.Target = "≥ 15000 (judged with --reservations 15000)"
	}
	rep.addVs("time to take every reservation", "s", pc.reserveSecs, floor.reserveSecs)
	row = rep.addVs("concurrent relayed chats held", "", float64(pc.held), float64(floor.held))
	if o.Chats >= 1000 {
		row.judge("≥ 1000", pc.held >= 1000)
	} else {
		row.Target = "≥ 1000 (judged with --chats 1000)"
	}
	rep.addVs("relay RSS idle", "MB", mb(pc.idle.RSSKB), mb(floor.idle.RSSKB))
	rep.addVs("relay RSS with every reservation", "MB", mb(pc.loaded.RSSKB), mb(floor.loaded.RSSKB))
	perRes := func(r relayResult) float64 {
		return float64(r.loaded.RSSKB-r.idle.RSSKB) / float64(max(r.reserved, 1))
	}
	rep.addVs("relay RSS per reservation", "KB", perRes(pc), perRes(floor))
	rep.addVs("relay goroutines per reservation", "", float64(pc.loaded.Goroutines-pc.idle.Goroutines)/float64(max(pc.reserved, 1)),
		float64(floor.loaded.Goroutines-floor.idle.Goroutines)/float64(max(floor.reserved, 1)))
	rep.addVs("relayed round trip p50", "ms", pc.rtt.P50, floor.rtt.P50)
	rep.addVs("relayed round trip p99", "ms", pc.rtt.P99, floor.rtt.P99)
	rep.addVs("relay CPU per 1,000 relayed messages", "s", pc.cpuPerK, floor.cpuPerK)
	rep.addVs("relay bytes per relayed 64-byte message", "B", pc.bytesPer, floor.bytesPer)
	for _, e := range pc.errors {
		rep.note("peerchat relay: %s", e)
	}
	for _, e := range floor.errors {
		rep.note("floor relay: %s", e)
	}
	rep.note("a chat is two peers that reach each other only through the relay, exchanging %d 64-byte messages and echoes one after another; every chat runs at once", o.ChatMessages)
	return rep, nil
}

type relayResult struct {
	reserved     int
	reserveSecs  float64
	held         int
	idle, loaded memSample
	loadedStats  relayStats
	rtt          Dist
	cpuPerK      float64
	bytesPer     float64
	errors       []string
}

type relayStats struct {
	memSample
	CPU          float64 `json:"cpu"`
	Reservations int     `json:"reservations"`
	Bytes        int64   `json:"bytes"`
}

func relayOnce(ctx context.Context, o *relayOptions, kind string) (relayResult, error) {
	var res relayResult
	dir, err := tempDir(o.WorkDir, "relay-"+kind+"-")
	if err != nil {
		return res, err
	}
	rc, err := startChild(ctx, o.options, "relay-"+kind, "relay", relayArgs{Kind: kind, Dir: dir, Reservations: o.Reservations, Chats: o.Chats})
	if err != nil {
		return res, err
	}
	defer rc.stop(30 * time.Second)
	var addr string
	if err := rc.call(ctx, "addr", nil, &addr); err != nil {
		return res, err
	}
	var st relayStats
	if err := rc.call(ctx, "stats", nil, &st); err != nil {
		return res, err
	}
	res.idle = st.memSample
	clients := max(o.Reservations, 2*o.Chats)
	procs := (clients + clientsPerProc - 1) / clientsPerProc
	cs := make([]*child, procs)
	defer func() {
		for _, c := range cs {
			if c != nil {
				c.stop(30 * time.Second)
			}
		}
	}()
	if err := eachChild(cs, func(i int, _ *child) error {
		n := clients / procs
		if i < clients%procs {
			n++
		}
		c, err := startChild(ctx, o.options, fmt.Sprintf("clients-%s-%d", kind, i), "clients", clientsArgs{Count: n, Relay: addr})
		cs[i] = c
		return err
	}); err != nil {
		return res, err
	}
	reserves := make([]reserveRes, procs)
	if err := eachChild(cs, func(i int, c *child) error { return c.call(ctx, "reserve", nil, &reserves[i]) }); err != nil {
		return res, err
	}
	for _, r := range reserves {
		res.reserved += r.OK
		res.reserveSecs = max(res.reserveSecs, r.Seconds)
		for _, e := range r.Errors {
			res.errors = append(res.errors, "reserve: "+e)
		}
	}
	if err := rc.call(ctx, "stats", nil, &st); err != nil {
		return res, err
	}
	res.loaded = st.memSample
	res.loadedStats = st
	before := st
	chats := make([]chatRes, procs)
	if err := eachChild(cs, func(i int, c *child) error {
		pairs := o.Chats / procs
		if i < o.Chats%procs {
			pairs++
		}
		return c.call(ctx, "chat", chatReq{Pairs: pairs, Messages: o.ChatMessages}, &chats[i])
	}); err != nil {
		return res, err
	}
	if err := rc.call(ctx, "stats", nil, &st); err != nil {
		return res, err
	}
	var rtts []time.Duration
	for _, c := range chats {
		res.held += c.Held
		for _, r := range c.RTTs {
			rtts = append(rtts, time.Duration(r))
		}
		for _, e := range c.Errors {
			res.errors = append(res.errors, "chat: "+e)
		}
	}
	res.rtt = distOf(rtts)
	relayed := 2 * len(rtts) // each round trip is a message and its echo
	if relayed > 0 {
		res.cpuPerK = (st.CPU - before.CPU) / float64(relayed) * 1000
		res.bytesPer = float64(st.Bytes-before.Bytes) / float64(relayed)
	}
	return res, nil
}

type relayArgs struct {
	Kind         string `json:"kind"`
	Dir          string `json:"dir"`
	Reservations int    `json:"reservations"`
	Chats        int    `json:"chats"`
}

// relayChild runs the relay under test: peerchat's relay package, or the
// bare go-libp2p relay service as the floor.
type relayChild struct {
	h       host.Host
	closeFn func() error
	reg     *prometheus.Registry
	tracer  *floorRelayTracer
}

func startRelayChild(ctx context.Context, raw json.RawMessage, log *slog.Logger) (childHandler, error) {
	var a relayArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("relay args: %w", err)
	}
	slots := a.Reservations + 64
	switch a.Kind {
	case "peerchat":
		reg := prometheus.NewRegistry()
		r, err := relay.New(ctx, relay.Config{
			DataDir:     a.Dir,
			ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
			Rooms:       []string{"bench"},
			Logger:      log,
			Registry:    reg,
			// Every client comes from 127.0.0.1: per-IP limits would
			// stop the test, not the relay.
			Limits: relay.Limits{
				MaxReservations: slots, MaxReservationsPerIP: slots, MaxReservationsPerASN: slots,
				MaxCircuits: 2*a.Chats + 64, MaxConns: 19_000, MaxConnsPerIP: 19_000, ConnRatePerIP: 1e6,
			},
		})
		if err != nil {
			return nil, fmt.Errorf("not available yet: %w", err)
		}
		return &relayChild{h: r.Node().Host(), closeFn: r.Close, reg: reg}, nil
	case "floor":
		tr := &floorRelayTracer{}
		h, err := newFloorHostOnly("tcp", libp2p.ResourceManager(&network.NullResourceManager{}))
		if err != nil {
			return nil, err
		}
		svc, err := relayv2.New(h, relayv2.WithMetricsTracer(tr), relayv2.WithResources(relayv2.Resources{
			ReservationTTL: time.Hour, MaxReservations: slots, MaxCircuits: 64, BufferSize: 4096,
			MaxReservationsPerPeer: 1, MaxReservationsPerIP: slots, MaxReservationsPerASN: slots,
		}))
		if err != nil {
			h.Close()
			return nil, err
		}
		return &relayChild{h: h, tracer: tr, closeFn: func() error { svc.Close(); return h.Close() }}, nil
	}
	return nil, fmt.Errorf("unknown relay kind %q", a.Kind)
}

func (r *relayChild) close() error { return r.closeFn() }

func (r *relayChild) handle(ctx context.Context, op string, _ json.RawMessage) (any, error) {
	switch op {
	case "addr":
		for _, a := range p2pAddrs(r.h) {
			if m, err := ma.NewMultiaddr(a); err == nil {
				if _, err := m.ValueForProtocol(ma.P_TCP); err == nil {
					return a, nil
				}
			}
		}
		return nil, fmt.Errorf("relay has no TCP address")
	case "stats":
		st := relayStats{memSample: settledMem(ctx), CPU: cpuSeconds()}
		if r.tracer != nil {
			st.Reservations = int(r.tracer.reservations.Load())
			st.Bytes = r.tracer.bytes.Load()
		} else {
			st.Reservations = int(gauge(r.reg, "peerchat_relay_reservations"))
			st.Bytes = int64(gauge(r.reg, "peerchat_relay_bytes_relayed_total"))
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

// gauge reads one unlabelled gauge or counter from reg.
func gauge(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		if m.Gauge != nil {
			return m.Gauge.GetValue()
		}
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
	}
	return 0
}

// floorRelayTracer counts what the bare relay does, as peerchat's relay
// metrics do.
type floorRelayTracer struct {
	reservations atomic.Int64
	bytes        atomic.Int64
}

func (t *floorRelayTracer) RelayStatus(bool)                      {}
func (t *floorRelayTracer) ConnectionOpened()                     {}
func (t *floorRelayTracer) ConnectionClosed(time.Duration)        {}
func (t *floorRelayTracer) ConnectionRequestHandled(pbv2.Status)  {}
func (t *floorRelayTracer) ReservationRequestHandled(pbv2.Status) {}
func (t *floorRelayTracer) BytesTransferred(n int)                { t.bytes.Add(int64(n)) }
func (t *floorRelayTracer) ReservationAllowed(renewal bool) {
	if !renewal {
		t.reservations.Add(1)
	}
}
func (t *floorRelayTracer) ReservationClosed(n int) { t.reservations.Add(-int64(n)) }
