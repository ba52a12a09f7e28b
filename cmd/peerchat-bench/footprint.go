package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func init() {
	register(scenario{
		name:    "footprint",
		rank:    50,
		summary: "RSS and goroutines of an idle node, per connected peer and per joined room",
		flags: func(fs *flag.FlagSet) runFunc {
			fo := &footprintOptions{}
			fs.IntVar(&fo.Peers, "peers", 10, "footprint: peers connected to the measured node")
			fs.IntVar(&fo.Rooms, "rooms", 100, "footprint: extra rooms the measured node joins")
			return func(ctx context.Context, o *options) (*Report, error) {
				fo.options = o
				return runFootprint(ctx, fo)
			}
		},
		smallest: []string{"--peers", "2", "--rooms", "2"},
	})
	registerChild("footprint", startFootprintChild)
}

// footprintOptions are footprint's flags.
type footprintOptions struct {
	*options
	Peers int
	Rooms int
}

// runFootprint measures what an idle node costs: the RSS and goroutines
// of a child process holding one node (the number a user sees in top),
// then what each connected peer and each joined room adds. The floor is
// the same process holding a bare libp2p host with gossipsub instead.
func runFootprint(ctx context.Context, o *footprintOptions) (*Report, error) {
	rep := newReport("footprint")
	rep.Params["peers"] = o.Peers
	rep.Params["rooms"] = o.Rooms
	rep.Params["transport"] = o.Transport
	floor, err := footprintOnce(ctx, o, "floor")
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	pc, err := footprintOnce(ctx, o, "peerchat")
	if err != nil {
		return nil, fmt.Errorf("peerchat: %w", err)
	}
	mb := func(kb int) float64 { return float64(kb) / 1024 }
	rep.addVs("idle process RSS", "MB", mb(pc.idle.RSSKB), mb(floor.idle.RSSKB)).judge("≤ 40 MB", pc.idle.RSSKB <= 40*1024)
	rep.addVs("empty process RSS (runtime + binary, no node)", "MB", mb(pc.empty.RSSKB), mb(floor.empty.RSSKB))
	rep.addVs("node alone (idle - empty)", "MB", mb(pc.idle.RSSKB-pc.empty.RSSKB), mb(floor.idle.RSSKB-floor.empty.RSSKB))
	rep.addVs("idle Go heap in use", "MB", mb(pc.idle.HeapKB), mb(floor.idle.HeapKB))
	rep.addVs("idle goroutines", "", float64(pc.idle.Goroutines), float64(floor.idle.Goroutines))
	perPeer := func(f footprintResult) float64 { return float64(f.peers.RSSKB-f.idle.RSSKB) / float64(o.Peers) }
	perRoom := func(f footprintResult) float64 { return float64(f.rooms.RSSKB-f.peers.RSSKB) / float64(o.Rooms) }
	rep.addVs("RSS per connected peer", "KB", perPeer(pc), perPeer(floor))
	rep.addVs("goroutines per connected peer", "", float64(pc.peers.Goroutines-pc.idle.Goroutines)/float64(o.Peers),
		float64(floor.peers.Goroutines-floor.idle.Goroutines)/float64(o.Peers))
	rep.addVs("RSS per joined room", "KB", perRoom(pc), perRoom(floor))
	heapPerRoom := func(f footprintResult) float64 { return float64(f.rooms.HeapKB-f.peers.HeapKB) / float64(o.Rooms) }
	rep.addVs("Go heap per joined room", "KB", heapPerRoom(pc), heapPerRoom(floor))
	rep.addVs("goroutines per joined room", "", float64(pc.rooms.Goroutines-pc.peers.Goroutines)/float64(o.Rooms),
		float64(floor.rooms.Goroutines-floor.peers.Goroutines)/float64(o.Rooms))
	rep.note("RSS read from /proc/self/status (VmRSS) of a child process once it stopped changing; per-peer and per-room values are averages over %d peers and %d rooms", o.Peers, o.Rooms)
	return rep, nil
}

type footprintResult struct {
	empty, idle, peers, rooms memSample
}

type memSample struct {
	RSSKB      int `json:"rss_kb"`
	HeapKB     int `json:"heap_kb"`
	Goroutines int `json:"goroutines"`
}

// footprintOnce runs one child holding one member, connects o.Peers peers
// (members of this process) to it and has it join o.Rooms more rooms.
func footprintOnce(ctx context.Context, o *footprintOptions, kind string) (footprintResult, error) {
	var res footprintResult
	dir, err := tempDir(o.WorkDir, "footprint-"+kind+"-")
	if err != nil {
		return res, err
	}
	c, err := startChild(ctx, o.options, "footprint-"+kind, "footprint", membersArgs{Kind: kind, Transport: o.Transport, Room: "bench", Count: 1, Dir: dir + "/measured"})
	if err != nil {
		return res, err
	}
	defer c.stop(30 * time.Second)
	for _, step := range []struct {
		op  string
		out *memSample
	}{{"empty", &res.empty}, {"start", nil}, {"measure", &res.idle}} {
		if err := c.call(ctx, step.op, nil, step.out); err != nil {
			return res, err
		}
	}
	var addrs []string
	if err := c.call(ctx, "addrs", nil, &addrs); err != nil {
		return res, err
	}
	peers, err := startGroup(ctx, membersArgs{Kind: kind, Transport: o.Transport, Room: "bench", Count: o.Peers, Dir: dir + "/peers"}, o.log)
	if err != nil {
		return res, err
	}
	defer peers.close()
	targets := map[int][]string{}
	for i := range peers.members {
		targets[i] = addrs[:1]
	}
	if err := peers.connect(ctx, targets); err != nil {
		return res, err
	}
	if err := waitUntil(ctx, time.Minute, "the peers to join the measured node's room", func() bool {
		var s groupStatus
		return c.call(ctx, "status", nil, &s) == nil && s.MaxTopicPeers >= o.Peers
	}); err != nil {
		return res, err
	}
	if err := c.call(ctx, "measure", nil, &res.peers); err != nil {
		return res, err
	}
	if err := c.call(ctx, "join", o.Rooms, nil); err != nil {
		return res, err
	}
	if err := c.call(ctx, "measure", nil, &res.rooms); err != nil {
		return res, err
	}
	return res, nil
}

// footprintChild holds one member and reports its process's memory.
type footprintChild struct {
	args membersArgs
	log  *slog.Logger
	g    *group
}

func startFootprintChild(_ context.Context, raw json.RawMessage, log *slog.Logger) (childHandler, error) {
	var a membersArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("footprint args: %w", err)
	}
	return &footprintChild{args: a, log: log}, nil
}

func (f *footprintChild) close() error {
	if f.g != nil {
		return f.g.close()
	}
	return nil
}

func (f *footprintChild) handle(ctx context.Context, op string, data json.RawMessage) (any, error) {
	switch op {
	case "empty":
		return settledMem(ctx), nil
	case "start":
		g, err := startGroup(ctx, f.args, f.log)
		if err != nil {
			return nil, err
		}
		f.g = g
		return nil, nil
	case "measure":
		return settledMem(ctx), nil
	case "addrs":
		return f.g.members[0].addrs(), nil
	case "status":
		return f.g.status(), nil
	case "join":
		var rooms int
		if err := json.Unmarshal(data, &rooms); err != nil {
			return nil, err
		}
		return nil, joinRooms(ctx, f.g.members[0], rooms)
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

// joinRooms joins n more rooms, through the node's API for peerchat and
// by joining and subscribing to topics for the floor.
func joinRooms(ctx context.Context, m member, n int) error {
	for i := 0; i < n; i++ {
		room := fmt.Sprintf("extra-%03d", i)
		switch m := m.(type) {
		case *nodeMember:
			if err := m.n.JoinRoom(ctx, room); err != nil {
				return err
			}
		case *floorMember:
			t, err := m.ps.Join(room)
			if err != nil {
				return err
			}
			if _, err := t.Subscribe(); err != nil {
				return err
			}
		}
	}
	return nil
}

// settledMem collects garbage and samples memory every 250 ms until RSS
// changes by less than 1% between samples (or 10 s pass): an idle node's
// start-up allocations and first heartbeats have settled by then.
func settledMem(ctx context.Context) memSample {
	var last memSample
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		runtime.GC()
		s := readMem()
		if i >= 3 && (abs(s.RSSKB-last.RSSKB)*100 <= last.RSSKB || time.Now().After(deadline)) {
			return s
		}
		last = s
		select {
		case <-ctx.Done():
			return s
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func readMem() memSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := memSample{HeapKB: int(ms.HeapInuse / 1024), Goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				s.RSSKB, _ = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			}
		}
	}
	return s
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
