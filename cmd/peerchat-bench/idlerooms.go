package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

func init() {
	register(scenario{
		name:    "rooms",
		rank:    55,
		summary: "idle CPU and heap of a node joined to many quiet rooms, each shared with one peer",
		flags: func(fs *flag.FlagSet) runFunc {
			ro := &idleRoomsOptions{}
			fs.IntVar(&ro.Rooms, "idle-rooms", 1000, "rooms: quiet rooms both nodes join")
			fs.DurationVar(&ro.For, "idle-for", 30*time.Second, "rooms: how long the idle CPU is measured")
			fs.DurationVar(&ro.Settle, "idle-settle", 75*time.Second, "rooms: how long after the nodes meet the measurement starts (joins, first syncs and the first minute of room discovery are over by then)")
			return func(ctx context.Context, o *options) (*Report, error) {
				ro.options = o
				return runIdleRooms(ctx, ro)
			}
		},
		smallest: []string{"--idle-rooms", "5", "--idle-for", "1s", "--idle-settle", "1s"},
	})
}

// idleRoomsOptions are rooms' flags.
type idleRoomsOptions struct {
	*options
	Rooms  int
	For    time.Duration
	Settle time.Duration
}

// runIdleRooms starts two nodes in this process, joined to the same quiet
// rooms, waits until they meet in every room and their join announcements
// are over, then measures the CPU the process uses while nothing is sent:
// presence renewals, receipts, periodic syncs and timers, everything a
// room costs while quiet. Each node's share is half of it.
func runIdleRooms(ctx context.Context, o *idleRoomsOptions) (*Report, error) {
	rep := newReport("rooms")
	rep.Params["rooms"] = o.Rooms
	rep.Params["for"] = o.For.String()
	rep.Params["settle"] = o.Settle.String()
	rep.Params["transport"] = o.Transport
	rooms := make([]string, o.Rooms)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("quiet-%d", i)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse
	var nodes [2]*nodeMember
	for i := range nodes {
		dir, err := tempDir(o.WorkDir, fmt.Sprintf("rooms%d-", i))
		if err != nil {
			return nil, err
		}
		opts := nodeOptions{Transport: o.Transport, Rooms: rooms, Logger: o.log}
		if i == 1 {
			opts.Bootstrap = nodes[0].addrs()[:1]
		}
		if nodes[i], err = newNodeMember(ctx, dir, opts); err != nil {
			return nil, err
		}
		defer nodes[i].close()
	}
	met := func() bool {
		for _, info := range nodes[0].n.Rooms() {
			if info.Peers == 0 {
				return false
			}
		}
		return true
	}
	if err := waitUntil(ctx, 2*time.Minute, "the nodes to meet in every room", met); err != nil {
		return nil, err
	}
	// The join announcements, first syncs and the first minute of room
	// discovery (fast searches) are over by then.
	settle := time.NewTimer(o.Settle)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-settle.C:
	}
	cpu0, start := cpuSeconds(), time.Now()
	window := time.NewTimer(o.For)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-window.C:
	}
	cpu := (cpuSeconds() - cpu0) / time.Since(start).Seconds() / 2
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapPerRoom := float64(ms.HeapInuse-heap0) / 2 / float64(o.Rooms) / 1024
	floorCPU, err := idleRoomsFloor(ctx, o, rooms)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	rep.addVs("idle CPU of one node", "% of a core", 100*cpu, 100*floorCPU).judge("≤ 0.2 %", 100*cpu <= 0.2)
	rep.addVs("idle CPU per room", "% of a core", 100*cpu/float64(o.Rooms), 100*floorCPU/float64(o.Rooms))
	rep.add("Go heap per room (one node)", "KB", heapPerRoom).judge("≤ 50 KiB", heapPerRoom <= 50)
	rep.note("two nodes in this process share every room; CPU and heap are halved; the CPU window is %s, %s after the nodes met", o.For, o.Settle)
	rep.note("floor: two bare gossipsub hosts (peerchat's gossipsub options, no peer scoring) subscribed to the same topics, idle")
	return rep, nil
}

// idleRoomsFloor measures two bare gossipsub hosts subscribed to the same
// topics, idle: the heartbeat's cost, which grows with the topics two
// peers share, with nothing of peerchat's.
func idleRoomsFloor(ctx context.Context, o *idleRoomsOptions, rooms []string) (float64, error) {
	var hosts [2]*floorMember
	for i := range hosts {
		f, err := newFloorMember(o.Transport, rooms[0])
		if err != nil {
			return 0, err
		}
		defer f.close()
		for _, room := range rooms[1:] {
			t, err := f.ps.Join(protocol.Topic(room))
			if err != nil {
				return 0, err
			}
			sub, err := t.Subscribe()
			if err != nil {
				return 0, err
			}
			defer sub.Cancel()
		}
		hosts[i] = f
	}
	if err := hosts[1].connect(ctx, hosts[0].addrs()[0]); err != nil {
		return 0, err
	}
	last := protocol.Topic(rooms[len(rooms)-1])
	if err := waitUntil(ctx, time.Minute, "the floor hosts to meet in every topic", func() bool {
		return len(hosts[0].ps.ListPeers(last)) > 0
	}); err != nil {
		return 0, err
	}
	settle := time.NewTimer(5 * time.Second)
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-settle.C:
	}
	cpu0, start := cpuSeconds(), time.Now()
	window := time.NewTimer(o.For)
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-window.C:
	}
	return (cpuSeconds() - cpu0) / time.Since(start).Seconds() / 2, nil
}
