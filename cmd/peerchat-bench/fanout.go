package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"
)

func init() {
	register(scenario{
		name:    "fanout",
		rank:    20,
		summary: "delivery to every node of one room of many nodes, spread over child processes",
		flags: func(fs *flag.FlagSet) runFunc {
			fo := &fanoutOptions{}
			fs.IntVar(&fo.Nodes, "nodes", 100, "fanout: nodes in the room")
			fs.IntVar(&fo.Procs, "procs", 0, "fanout: child processes hosting the nodes (0: one per 25 nodes)")
			fs.IntVar(&fo.FanoutMessages, "fanout-messages", 100, "fanout: messages published")
			fs.Float64Var(&fo.FanoutRate, "fanout-rate", 10, "fanout: messages per second")
			fs.IntVar(&fo.Links, "links", 4, "fanout: peers each node dials when it starts (a random earlier node each)")
			return func(ctx context.Context, o *options) (*Report, error) {
				fo.options = o
				return runFanout(ctx, fo)
			}
		},
		smallest: []string{"--nodes", "4", "--procs", "2", "--fanout-messages", "5", "--fanout-rate", "20"},
	})
}

// fanoutOptions are fanout's flags.
type fanoutOptions struct {
	*options
	Nodes          int
	Procs          int
	FanoutMessages int
	FanoutRate     float64
	Links          int
}

// runFanout measures one room of many nodes spread over child processes:
// node 0 publishes messages at a steady rate, and every other node
// records when its subscriber (the event log, for peerchat) hands each one
// over. The result is the delivery ratio and, per message, the time until
// the last node had it. The floor runs first, on the same topology.
func runFanout(ctx context.Context, o *fanoutOptions) (*Report, error) {
	rep := newReport("fanout")
	procs := o.Procs
	if procs <= 0 {
		procs = (o.Nodes + 24) / 25
	}
	procs = min(procs, o.Nodes)
	rep.Params["nodes"] = o.Nodes
	rep.Params["procs"] = procs
	rep.Params["messages"] = o.FanoutMessages
	rep.Params["rate"] = o.FanoutRate
	rep.Params["links"] = o.Links
	rep.Params["size"] = o.Size
	rep.Params["transport"] = o.Transport

	floor, err := fanoutOnce(ctx, o, "floor", procs)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	pc, err := fanoutOnce(ctx, o, "peerchat", procs)
	if err != nil {
		return nil, fmt.Errorf("peerchat: %w", err)
	}
	rep.addVs("delivered", "%", 100*pc.delivered, 100*floor.delivered).judge("100 %", pc.delivered == 1)
	rep.addVs("last node p50", "ms", pc.last.P50, floor.last.P50)
	rep.addVs("last node p99", "ms", pc.last.P99, floor.last.P99).maxRatio(1.2)
	rep.addVs("last node max", "ms", pc.last.Max, floor.last.Max)
	rep.addVs("any node p50", "ms", pc.each.P50, floor.each.P50)
	rep.addVs("any node p99", "ms", pc.each.P99, floor.each.P99)
	rep.addVs("CPU per 1,000 deliveries", "s", pc.cpuPerK, floor.cpuPerK)
	rep.addVs("start-up of all nodes", "s", pc.startup.Seconds(), floor.startup.Seconds())
	for _, kind := range []string{"message", "receipt", "presence", "typing"} {
		rep.add("envelopes verified per node per chat message: "+kind, "", pc.kinds[kind])
	}
	for _, n := range append(floor.notes, pc.notes...) {
		rep.note("%s", n)
	}
	rep.add("topic peers per node (min..max)", "", float64(pc.minPeers)).Target = fmt.Sprintf("max %d", pc.maxPeers)
	return rep, nil
}

type fanoutResult struct {
	delivered          float64
	last, each         Dist
	cpuPerK            float64
	startup            time.Duration
	minPeers, maxPeers int
	notes              []string
	kinds              map[string]float64
}

// fanoutOnce runs one kind of member ("floor" or "peerchat") over procs
// children.
func fanoutOnce(ctx context.Context, o *fanoutOptions, kind string, procs int) (*fanoutResult, error) {
	const room = "bench"
	res := &fanoutResult{}
	start := time.Now()
	// Spread the nodes over the children as evenly as possible.
	sizes := make([]int, procs)
	for i := 0; i < o.Nodes; i++ {
		sizes[i%procs]++
	}
	children := make([]*child, procs)
	defer func() {
		eachChild(children, func(_ int, c *child) error {
			if c != nil {
				c.stop(30 * time.Second)
			}
			return nil
		})
	}()
	err := eachChild(children, func(i int, _ *child) error {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		c, err := startChild(sctx, o.options, fmt.Sprintf("%s%d", kind, i), "members", membersArgs{
			Kind: kind, Transport: o.Transport, Room: room, Count: sizes[i],
			Dir: filepath.Join(o.WorkDir, fmt.Sprintf("fanout-%s-%d", kind, i)),
		})
		children[i] = c
		return err
	})
	if err != nil {
		return nil, err
	}
	// Number the nodes globally, child by child.
	type where struct{ child, member int }
	var nodes []where
	var addrs []string
	for i, c := range children {
		var a [][]string
		if err := c.call(ctx, "addrs", nil, &a); err != nil {
			return nil, err
		}
		for j, as := range a {
			nodes = append(nodes, where{i, j})
			addrs = append(addrs, as[0])
		}
	}
	// Each node dials Links random earlier nodes, as if those were its
	// bootstrap peers: the graph is connected and the seed fixes it, so
	// the floor and peerchat see the same one.
	rng := rand.New(rand.NewPCG(1, 2))
	targets := make([]map[int][]string, procs)
	for i := range targets {
		targets[i] = map[int][]string{}
	}
	for g := 1; g < len(nodes); g++ {
		picked := map[int]bool{}
		for len(picked) < min(o.Links, g) {
			picked[rng.IntN(g)] = true
		}
		w := nodes[g]
		for t := range picked {
			targets[w.child][w.member] = append(targets[w.child][w.member], addrs[t])
		}
	}
	// A refused or timed-out dial is not fatal: an overloaded node is a
	// result, and the node stays reachable through its other links.
	if err := eachChild(children, func(i int, c *child) error {
		return c.call(ctx, "connect", targets[i], nil)
	}); err != nil {
		res.notes = append(res.notes, fmt.Sprintf("%s: some dials failed (%d links per node): %.300s", kind, o.Links, err))
	}
	res.minPeers = 1 << 30
	// Forming the room takes longer the more nodes share the 2 cores: a
	// second per node, and never less than 3 minutes.
	formDeadline := max(3*time.Minute, time.Duration(o.Nodes)*time.Second)
	if err := waitUntil(ctx, formDeadline, "every node to see a room peer", func() bool {
		minPeers, maxPeers := 1<<30, 0
		for _, c := range children {
			var s groupStatus
			if c.call(ctx, "status", nil, &s) != nil {
				return false
			}
			minPeers, maxPeers = min(minPeers, s.MinTopicPeers), max(maxPeers, s.MaxTopicPeers)
		}
		res.minPeers, res.maxPeers = minPeers, maxPeers
		return minPeers >= 1
	}); err != nil {
		return nil, err
	}
	res.startup = time.Since(start)
	receivers := o.Nodes - 1
	seen := func(run string, idx int) int {
		n := 0
		for _, c := range children {
			var k int
			if c.call(ctx, "seen", runReq{Run: run, Idx: idx}, &k) == nil {
				n += k
			}
		}
		return n
	}
	// Warm up until one message reaches every node: the gossip mesh has
	// formed (its first heartbeats have run) and every sync is done.
	pub := children[0]
	warm := 0
	if err := waitUntil(ctx, 2*time.Minute, "a warm-up message to reach every node", func() bool {
		if warm > 0 && seen("w", warm-1) == receivers {
			return true
		}
		if err := pub.call(ctx, "publish", publishReq{Run: "w", First: warm, Count: 1, Rate: 1, Size: o.Size}, nil); err != nil {
			return false
		}
		warm++
		return waitUntil(ctx, time.Second, "warm-up", func() bool { return seen("w", warm-1) == receivers }) == nil
	}); err != nil {
		res.notes = append(res.notes, fmt.Sprintf("%s: no warm-up message reached every node within 2 minutes; measuring anyway", kind))
	}
	cpu0, kinds0 := childrenCPU(ctx, children), childrenKinds(ctx, children)
	var pr publishRes
	if err := pub.call(ctx, "publish", publishReq{Run: "m", Count: o.FanoutMessages, Rate: o.FanoutRate, Size: o.Size}, &pr); err != nil {
		return nil, err
	}
	want := o.FanoutMessages * receivers
	total := func() int {
		n := 0
		for _, c := range children {
			var k int
			if c.call(ctx, "count", runReq{Run: "m"}, &k) == nil {
				n += k
			}
		}
		return n
	}
	// Late messages are counted as lost after 10 s.
	_ = waitUntil(ctx, 10*time.Second, "every delivery", func() bool { return total() >= want })
	cpu1, kinds1 := childrenCPU(ctx, children), childrenKinds(ctx, children)
	res.kinds = map[string]float64{}
	for k, v := range kinds1 {
		// Per node and per message published: how many envelopes of each
		// kind every node verified for one chat message.
		res.kinds[k] = float64(v-kinds0[k]) / float64(o.Nodes) / float64(o.FanoutMessages)
	}
	lastAt := make([]int64, o.FanoutMessages)
	got := make([]int, o.FanoutMessages)
	var each []time.Duration
	for _, c := range children {
		var recv []map[int]int64
		if err := c.call(ctx, "received", runReq{Run: "m"}, &recv); err != nil {
			return nil, err
		}
		for _, m := range recv {
			for idx, at := range m {
				if idx < 0 || idx >= len(lastAt) {
					continue
				}
				got[idx]++
				lastAt[idx] = max(lastAt[idx], at)
				each = append(each, time.Duration(at-pr.Sent[idx]))
			}
		}
	}
	var last []time.Duration
	delivered := 0
	for i := range lastAt {
		delivered += got[i]
		if got[i] == receivers {
			last = append(last, time.Duration(lastAt[i]-pr.Sent[i]))
		}
	}
	res.delivered = float64(delivered) / float64(want)
	res.last = distOf(last)
	res.each = distOf(each)
	if delivered > 0 {
		res.cpuPerK = (cpu1 - cpu0) / float64(delivered) * 1000
	}
	return res, nil
}

func childrenKinds(ctx context.Context, cs []*child) map[string]int {
	total := map[string]int{}
	for _, c := range cs {
		var k map[string]int
		if c.call(ctx, "kinds", nil, &k) == nil {
			addKinds(total, k)
		}
	}
	return total
}

func childrenCPU(ctx context.Context, cs []*child) float64 {
	total := 0.0
	for _, c := range cs {
		var s float64
		if c.call(ctx, "cpu", nil, &s) == nil {
			total += s
		}
	}
	return total
}
