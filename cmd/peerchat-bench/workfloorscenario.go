package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func init() {
	register(scenario{
		name:    "workfloor",
		rank:    15,
		summary: "peerchat against the work floor: the same message path (sign, synced store, publish, verify, synced store, one frame) done with bare libraries",
		flags: func(fs *flag.FlagSet) runFunc {
			wo := &workFloorOptions{}
			fs.IntVar(&wo.Messages, "wf-messages", 2000, "workfloor: messages sent for the latency and CPU comparison")
			fs.Float64Var(&wo.Rate, "wf-rate", 200, "workfloor: messages per second for the latency and CPU comparison")
			fs.StringVar(&wo.Rates, "wf-rates", "500,1000,1500,2000,3000", "workfloor: send rates tried in turn for the highest rate with p99 < 100 ms")
			fs.DurationVar(&wo.Step, "wf-step", 3*time.Second, "workfloor: how long each of --wf-rates is held")
			return func(ctx context.Context, o *options) (*Report, error) {
				wo.options = o
				return runWorkFloor(ctx, wo)
			}
		},
		smallest: []string{"--wf-messages", "20", "--wf-rate", "50", "--wf-rates", "50", "--wf-step", "500ms"},
	})
}

// workFloorOptions are workfloor's flags.
type workFloorOptions struct {
	*options
	Messages int
	Rate     float64
	Rates    string
	Step     time.Duration
}

// pathUnderTest is one of the two paths measured: a send function, the
// recorder its receiving client reports to, and its teardown.
type pathUnderTest struct {
	send  func(context.Context, string) error
	rec   *recorder
	close func()
}

// runWorkFloor measures peerchat and the work floor in the same run, one
// after the other, with the same client, count and rate: latency and CPU
// at --wf-rate, then the highest of --wf-rates each sustains with p99
// under 100 ms and every message delivered.
func runWorkFloor(ctx context.Context, o *workFloorOptions) (*Report, error) {
	rep := newReport("workfloor")
	rep.Params["messages"] = o.Messages
	rep.Params["rate"] = o.Rate
	rep.Params["rates"] = o.Rates
	rep.Params["step"] = o.Step.String()
	rep.Params["transport"] = o.Transport
	var rates []float64
	for _, s := range strings.Split(o.Rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("--wf-rates: %q is not a rate", s)
		}
		rates = append(rates, r)
	}
	type result struct {
		lat       Dist
		cpuPerK   float64
		sustained float64
	}
	measure := func(start func(context.Context) (*pathUnderTest, error)) (*result, error) {
		p, err := start(ctx)
		if err != nil {
			return nil, err
		}
		defer p.close()
		if err := warmUp(ctx, p); err != nil {
			return nil, err
		}
		cpu0 := cpuSeconds()
		lats, delivered, err := measureAt(ctx, p, "m", o.Messages, o.Rate, o.Size)
		if err != nil {
			return nil, err
		}
		if delivered < o.Messages {
			return nil, fmt.Errorf("%d of %d messages delivered at %g/s", delivered, o.Messages, o.Rate)
		}
		res := &result{lat: distOf(lats), cpuPerK: (cpuSeconds() - cpu0) / float64(o.Messages) * 1000}
		for i, r := range rates {
			n := int(r * o.Step.Seconds())
			lats, delivered, err := measureAt(ctx, p, fmt.Sprintf("r%d", i), n, r, o.Size)
			if err != nil || delivered < n || distOf(lats).P99 >= 100 {
				break
			}
			res.sustained = r
		}
		return res, nil
	}
	floor, err := measure(func(ctx context.Context) (*pathUnderTest, error) { return startWorkFloorPath(ctx, o) })
	if err != nil {
		return nil, fmt.Errorf("work floor: %w", err)
	}
	pc, err := measure(func(ctx context.Context) (*pathUnderTest, error) {
		return startPeerchatPath(ctx, o.options, "workfloor-pc")
	})
	if err != nil {
		return nil, fmt.Errorf("peerchat: %w", err)
	}
	rep.addVs("p50", "ms", pc.lat.P50, floor.lat.P50).maxRatio(1.2)
	rep.addVs("p99", "ms", pc.lat.P99, floor.lat.P99).maxRatio(1.5)
	rep.addVs("CPU per 1,000 messages", "s", pc.cpuPerK, floor.cpuPerK).maxRatio(1.2)
	sus := rep.addVs("sustained msg/s with p99 < 100 ms", "msg/s", pc.sustained, floor.sustained)
	sus.judge("≥ 0.8x floor", floor.sustained > 0 && pc.sustained >= 0.8*floor.sustained)
	rep.note("both: POST on A's HTTP -> one WebSocket frame from B, the receiver flushing to disk before it shows; floor: Ed25519 + Pebble synced batch + gossipsub at A, verify + Pebble synced batch + frame at B")
	rep.note("sustained: the highest of --wf-rates held --wf-step with p99 < 100 ms and every message delivered (0 when even the lowest failed)")
	return rep, nil
}

// warmUp sends until a message gets through.
func warmUp(ctx context.Context, p *pathUnderTest) error {
	sender := funcMember{send: p.send}
	warm := 0
	return waitUntil(ctx, time.Minute, "a warm-up message to get through", func() bool {
		if warm > 0 && p.rec.has("w", warm-1) == 1 {
			return true
		}
		if _, _, err := publishAt(ctx, sender, "w", warm, 1, 1, 64); err != nil {
			return false
		}
		warm++
		return waitUntil(ctx, time.Second, "warm-up", func() bool { return p.rec.has("w", warm-1) == 1 }) == nil
	})
}

// measureAt sends count messages of run at rate and returns the latencies
// of those delivered within 10 s of the last send.
func measureAt(ctx context.Context, p *pathUnderTest, run string, count int, rate float64, size int) ([]time.Duration, int, error) {
	sent, _, err := publishAt(ctx, funcMember{send: p.send}, run, 0, count, rate, size)
	if err != nil {
		return nil, 0, err
	}
	_ = waitUntil(ctx, 10*time.Second, "every message", func() bool { return p.rec.count(run) >= count })
	var lats []time.Duration
	for _, m := range p.rec.received(run) {
		for idx, at := range m {
			lats = append(lats, time.Duration(at-sent[idx]))
		}
	}
	return lats, len(lats), nil
}

func startWorkFloorPath(ctx context.Context, o *workFloorOptions) (*pathUnderTest, error) {
	rec := newRecorder(1)
	f, err := startWorkFloor(ctx, o.WorkDir, o.Transport, rec)
	if err != nil {
		return nil, err
	}
	return &pathUnderTest{send: f.post, rec: rec, close: f.close}, nil
}

// startPeerchatPath starts two peerchat nodes in room "bench" with their
// HTTP APIs, and a WebSocket client on the second: the path a message
// takes from one UI to another.
func startPeerchatPath(ctx context.Context, o *options, prefix string) (p *pathUnderTest, err error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	var nodes [2]*nodeMember
	for i := range nodes {
		dir, err := tempDir(o.WorkDir, fmt.Sprintf("%s%d-", prefix, i))
		if err != nil {
			return nil, err
		}
		opts := nodeOptions{Transport: o.Transport, Rooms: []string{"bench"}, Logger: o.log}
		if i == 1 {
			opts.Bootstrap = nodes[0].addrs()[:1]
		}
		if nodes[i], err = newNodeMember(ctx, dir, opts); err != nil {
			return nil, err
		}
		n := nodes[i]
		closers = append(closers, func() { n.close() })
	}
	var apis [2]*apiServer
	for i, n := range nodes {
		if apis[i], err = serveAPI(n.n, o.log); err != nil {
			return nil, err
		}
		a := apis[i]
		closers = append(closers, func() { a.close() })
	}
	rec := newRecorder(1)
	wsCtx, stopWS := context.WithCancel(context.Background())
	closers = append(closers, stopWS)
	ws, err := dialEvents(wsCtx, apis[1], nodes[1].n.LastSeq())
	if err != nil {
		return nil, err
	}
	go readMessageTexts(wsCtx, ws, rec.hook(0))
	if err := waitUntil(ctx, 30*time.Second, "the nodes to meet in the room", func() bool {
		return nodes[0].topicPeers() > 0 && nodes[1].topicPeers() > 0
	}); err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}, Timeout: 30 * time.Second}
	send := func(ctx context.Context, text string) error { return postMessage(ctx, client, apis[0], "bench", text) }
	return &pathUnderTest{send: send, rec: rec, close: closeAll}, nil
}
