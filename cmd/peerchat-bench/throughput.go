package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

func init() {
	register(scenario{
		name:    "throughput",
		rank:    30,
		summary: "the highest total send rate a room sustains end to end, with p99 under 100 ms",
		flags: func(fs *flag.FlagSet) runFunc {
			to := &throughputOptions{}
			fs.IntVar(&to.TPNodes, "tp-nodes", 5, "throughput: nodes in the room (all of them send)")
			fs.StringVar(&to.Rates, "rates", "500,1000,2000,3500,5000,7500", "throughput: total send rates tried in turn, messages per second")
			fs.DurationVar(&to.Step, "step", 4*time.Second, "throughput: how long each rate is held (the issue's target is 60s)")
			return func(ctx context.Context, o *options) (*Report, error) {
				to.options = o
				return runThroughput(ctx, to)
			}
		},
		smallest: []string{"--tp-nodes", "3", "--rates", "50", "--step", "500ms"},
	})
}

// throughputOptions are throughput's flags.
type throughputOptions struct {
	*options
	TPNodes int
	Rates   string
	Step    time.Duration
}

// runThroughput raises the total send rate of a room of o.TPNodes nodes,
// every node sending an equal share, until a rate is not sustained end to
// end: every message reaches every other node and the p99 latency stays
// under 100 ms. All nodes run in this process, so the CPU time per 1,000
// messages is the whole room's.
func runThroughput(ctx context.Context, o *throughputOptions) (*Report, error) {
	rep := newReport("throughput")
	rates, err := parseInts(o.Rates)
	if err != nil {
		return nil, fmt.Errorf("--rates: %w", err)
	}
	rep.Params["nodes"] = o.TPNodes
	rep.Params["step"] = o.Step.String()
	rep.Params["rates"] = o.Rates
	rep.Params["size"] = o.Size
	rep.Params["transport"] = o.Transport

	floor, err := throughputOnce(ctx, o, "floor", rates)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	pc, err := throughputOnce(ctx, o, "peerchat", rates)
	if err != nil {
		return nil, fmt.Errorf("peerchat: %w", err)
	}
	best := func(steps []stepResult) (stepResult, bool) {
		var b stepResult
		ok := false
		for _, s := range steps {
			if s.sustained {
				b, ok = s, true
			}
		}
		return b, ok
	}
	pb, pok := best(pc)
	fb, _ := best(floor)
	if !pok {
		// Nothing was sustained: there is no rate to report figures at.
		pb = stepResult{lat: distOf(nil), cpuPerK: math.NaN()}
	}
	rep.addVs("sustained rate", "msg/s", float64(pb.rate), float64(fb.rate)).judge("≥ 5000 msg/s, p99 < 100 ms", pok && pb.rate >= 5000)
	rep.addVs("p99 at sustained rate", "ms", pb.lat.P99, floorAt(floor, pb.rate).lat.P99)
	rep.addVs("CPU per 1,000 messages at sustained rate", "s", pb.cpuPerK, floorAt(floor, pb.rate).cpuPerK)
	for _, s := range pc {
		f := floorAt(floor, s.rate)
		rep.addVs(fmt.Sprintf("@%d: achieved send rate", s.rate), "msg/s", s.achieved, f.achieved)
		rep.addVs(fmt.Sprintf("@%d: delivered", s.rate), "%", 100*s.delivered, 100*f.delivered)
		rep.addVs(fmt.Sprintf("@%d: p50", s.rate), "ms", s.lat.P50, f.lat.P50)
		rep.addVs(fmt.Sprintf("@%d: p99", s.rate), "ms", s.lat.P99, f.lat.P99)
		rep.addVs(fmt.Sprintf("@%d: CPU per 1,000 messages", s.rate), "s", s.cpuPerK, f.cpuPerK)
	}
	rep.note("a message counts once however many nodes receive it; each is delivered to %d nodes", o.TPNodes-1)
	return rep, nil
}

type stepResult struct {
	rate      int
	achieved  float64
	delivered float64
	lat       Dist
	cpuPerK   float64
	sustained bool
}

func floorAt(steps []stepResult, rate int) stepResult {
	for _, s := range steps {
		if s.rate == rate {
			return s
		}
	}
	return stepResult{rate: rate, achieved: math.NaN(), delivered: math.NaN(), lat: distOf(nil), cpuPerK: math.NaN()}
}

// throughputOnce runs the rate steps on one kind of member; it stops at
// the first rate that is not sustained.
func throughputOnce(ctx context.Context, o *throughputOptions, kind string, rates []int) ([]stepResult, error) {
	dir, err := tempDir(o.WorkDir, "throughput-"+kind+"-")
	if err != nil {
		return nil, err
	}
	g, err := startGroup(ctx, membersArgs{Kind: kind, Transport: o.Transport, Room: "bench", Count: o.TPNodes, Dir: dir}, o.log)
	if err != nil {
		return nil, err
	}
	defer g.close()
	targets := map[int][]string{}
	for i := 1; i < len(g.members); i++ {
		for j := 0; j < i; j++ {
			targets[i] = append(targets[i], g.members[j].addrs()[0])
		}
	}
	if err := g.connect(ctx, targets); err != nil {
		return nil, err
	}
	receivers := o.TPNodes - 1
	if err := waitUntil(ctx, time.Minute, "every node to see every other in the room", func() bool {
		return g.status().MinTopicPeers >= receivers
	}); err != nil {
		return nil, err
	}
	warm := 0
	if err := waitUntil(ctx, time.Minute, "a warm-up message to reach every node", func() bool {
		if warm > 0 && g.rec.has("w", warm-1) == receivers {
			return true
		}
		if _, _, err := publishAt(ctx, g.members[0], "w", warm, 1, 1, o.Size); err != nil {
			return false
		}
		warm++
		return waitUntil(ctx, time.Second, "warm-up", func() bool { return g.rec.has("w", warm-1) == receivers }) == nil
	}); err != nil {
		return nil, err
	}
	var out []stepResult
	for _, rate := range rates {
		s, err := throughputStep(ctx, o, g, rate)
		if err != nil {
			return nil, err
		}
		o.log.Info("throughput step", "kind", kind, "rate", rate, "achieved", s.achieved, "delivered", s.delivered, "p99", s.lat.P99)
		out = append(out, s)
		if !s.sustained {
			break
		}
	}
	return out, nil
}

func throughputStep(ctx context.Context, o *throughputOptions, g *group, rate int) (stepResult, error) {
	run := "s" + strconv.Itoa(rate)
	n := len(g.members)
	per := max(1, int(float64(rate)/float64(n)*o.Step.Seconds()))
	sent := make([][]int64, n)
	errs := make([]error, n)
	cpu0 := cpuSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for i, m := range g.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[i], _, errs[i] = publishAt(ctx, m, run, i*per, per, float64(rate)/float64(n), o.Size)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return stepResult{}, err
		}
	}
	want := per * n * (n - 1)
	_ = waitUntil(ctx, 10*time.Second, "every delivery", func() bool { return g.rec.count(run) >= want })
	cpu1 := cpuSeconds()
	var lats []time.Duration
	for _, m := range g.rec.received(run) {
		for idx, at := range m {
			lats = append(lats, time.Duration(at-sent[idx/per][idx%per]))
		}
	}
	s := stepResult{
		rate:      rate,
		achieved:  float64(per*n) / elapsed.Seconds(),
		delivered: float64(len(lats)) / float64(want),
		lat:       distOf(lats),
		cpuPerK:   (cpu1 - cpu0) / float64(per*n) * 1000,
	}
	s.sustained = s.delivered == 1 && s.lat.P99 < 100 && s.achieved >= 0.95*float64(rate)
	return s, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a count", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no values")
	}
	return out, nil
}
