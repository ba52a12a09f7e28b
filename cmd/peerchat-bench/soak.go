package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node"
)

// soakSample is one reading of the bench process during a soak.
type soakSample struct {
	At  time.Duration
	Mem memSample
	FDs int
	// StoreKB is the datastores' block caches and memtables (zombies
	// included), which live outside the Go heap but inside RSS.
	StoreKB int
	// FileCacheKB and OpenTables are the datastores' open table readers.
	FileCacheKB, OpenTables int
	// StoreDiskKB is the size of the nodes' data folders.
	StoreDiskKB int
	// GoKB is what the Go runtime holds from the OS and has not given
	// back: the heap in use, freed heap kept for reuse, stacks and the
	// runtime's own structures.
	GoKB int
	// Go is GoKB broken down.
	Go goMemory
}

// goMemory is where the Go runtime's memory from the OS goes.
type goMemory struct {
	IdleKB  int // free heap spans not yet returned to the OS
	StackKB int // goroutine stacks
	MetaKB  int // the collector's and allocator's own structures
}

func init() {
	register(scenario{
		name:    "soak",
		rank:    80,
		summary: "leaks: memory, goroutines and open files of a few nodes chatting for a while",
		flags: func(fs *flag.FlagSet) runFunc {
			so := &soakOptions{}
			fs.DurationVar(&so.SoakDuration, "soak-duration", time.Minute, "soak: how long the nodes chat (the issue's full run is 30m)")
			fs.DurationVar(&so.SoakKeep, "soak-retention", 0, "soak: drop messages older than this (0 keeps the whole history, as a node does by default)")
			fs.StringVar(&so.HeapProf, "heapprofile", "", "soak: write a heap profile of this process at the end of the run, while the nodes still run")
			return func(ctx context.Context, o *options) (*Report, error) {
				so.options = o
				return runSoak(ctx, so)
			}
		},
		smallest: []string{"--soak-duration", "4s"},
	})
}

// soakOptions are soak's flags.
type soakOptions struct {
	*options
	SoakDuration time.Duration
	SoakKeep     time.Duration
	HeapProf     string
}

// runSoak keeps a few nodes chatting at a steady rate for --soak-duration
// and samples the process's RSS, heap, goroutines and open files a dozen
// times. After a warm-up of a quarter of the run, goroutines and open
// files must not grow and the heap must stay within 1.5x of its first
// sample (plus 8 MiB of slack for a shared, noisy machine).
func runSoak(ctx context.Context, o *soakOptions) (*Report, error) {
	rep := newReport("soak")
	if o.HeapProf != "" {
		runtime.MemProfileRate = 16 << 10 // fine enough to attribute a few MiB
	}
	const nodesN, perSecond = 3, 5
	rep.Params["duration"] = o.SoakDuration.String()
	rep.Params["nodes"] = nodesN
	rep.Params["rate_per_node"] = perSecond
	rep.Params["retention"] = o.SoakKeep.String()
	nodes := make([]*nodeMember, nodesN)
	regs := make([]*prometheus.Registry, nodesN)
	dirs := make([]string, nodesN)
	for i := range nodes {
		regs[i] = prometheus.NewRegistry()
		dir, err := tempDir(o.WorkDir, fmt.Sprintf("soak%d-", i))
		if err != nil {
			return nil, err
		}
		dirs[i] = dir
		reg := regs[i]
		opts := nodeOptions{Transport: o.Transport, Rooms: []string{"bench"}, Logger: o.log, Extra: func(c *node.Config) {
			c.Registry = reg
			c.Retention.MaxAge = o.SoakKeep
		}}
		for _, prev := range nodes[:i] {
			opts.Bootstrap = append(opts.Bootstrap, prev.addrs()[0])
		}
		if nodes[i], err = newNodeMember(ctx, dir, opts); err != nil {
			return nil, err
		}
		defer nodes[i].close()
	}
	if err := waitUntil(ctx, 30*time.Second, "the nodes to meet in the room", func() bool {
		for _, n := range nodes {
			if n.topicPeers() < nodesN-1 {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, err
	}
	chatCtx, stopChat := context.WithCancel(ctx)
	defer stopChat()
	for i, n := range nodes {
		go func() {
			t := time.NewTicker(time.Second / perSecond)
			defer t.Stop()
			for k := 0; ; k++ {
				select {
				case <-chatCtx.Done():
					return
				case <-t.C:
				}
				_ = n.publish(chatCtx, fmt.Sprintf("soak %d %d", i, k))
			}
		}()
	}
	every := max(o.SoakDuration/12, 250*time.Millisecond)
	start := time.Now()
	var samples []soakSample
	warm := o.SoakDuration / 4
	for time.Since(start) < o.SoakDuration {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(every):
		}
		if time.Since(start) < warm {
			continue
		}
		runtime.GC()
		st := storeGauges(regs)
		samples = append(samples, soakSample{
			At: time.Since(start), Mem: readMem(), FDs: openFDs(), GoKB: goRuntimeKB(), Go: readGoMemory(),
			StoreKB:     int((st["peerchat_store_block_cache_bytes"] + st["peerchat_store_memtable_bytes"] + st["peerchat_store_zombie_memtable_bytes"]) / 1024),
			FileCacheKB: int(st["peerchat_store_file_cache_bytes"] / 1024),
			OpenTables:  int(st["peerchat_store_open_tables"]),
			StoreDiskKB: sumDirKB(dirs),
		})
	}
	stopChat()
	if o.HeapProf != "" {
		if err := writeHeapProfile(o.HeapProf); err != nil {
			return nil, err
		}
	}
	if len(samples) < 2 {
		return nil, fmt.Errorf("only %d samples: make --soak-duration longer", len(samples))
	}
	first, last := samples[0], samples[len(samples)-1]
	span := (last.At - first.At).Minutes()
	slope := func(a, b float64) float64 { return (b - a) / span }
	rep.addVs("goroutines (last vs first)", "", float64(last.Mem.Goroutines), float64(first.Mem.Goroutines)).judge("≤ first + 10", last.Mem.Goroutines <= first.Mem.Goroutines+10)
	rep.addVs("open files (last vs first)", "", float64(last.FDs), float64(first.FDs))
	// The store's tables are files, and a store that keeps all history
	// has more of them as it grows: those are counted apart.
	otherFDs := func(x soakSample) int { return x.FDs - x.OpenTables }
	rep.addVs("open files other than the store's tables (last vs first)", "", float64(otherFDs(last)), float64(otherFDs(first))).judge("≤ first + 5", otherFDs(last) <= otherFDs(first)+5)
	rep.addVs("store tables open (last vs first)", "", float64(last.OpenTables), float64(first.OpenTables))
	rep.addVs("store size on disk (last vs first)", "MiB", float64(last.StoreDiskKB)/1024, float64(first.StoreDiskKB)/1024)
	heapOK := float64(last.Mem.HeapKB) <= 1.5*float64(first.Mem.HeapKB)+8*1024
	rep.addVs("heap in use (last vs first)", "MiB", float64(last.Mem.HeapKB)/1024, float64(first.Mem.HeapKB)/1024).judge("≤ 1.5x first + 8 MiB", heapOK)
	rep.addVs("RSS (last vs first)", "MiB", float64(last.Mem.RSSKB)/1024, float64(first.Mem.RSSKB)/1024)
	rep.addVs("datastore caches and memtables (last vs first)", "MiB", float64(last.StoreKB)/1024, float64(first.StoreKB)/1024)
	rep.addVs("Go runtime's memory from the OS (last vs first)", "MiB", float64(last.GoKB)/1024, float64(first.GoKB)/1024)
	rep.add("Go runtime's memory slope", "MiB/min", slope(float64(first.GoKB)/1024, float64(last.GoKB)/1024))
	rep.add("of which free heap kept from the OS, slope", "MiB/min", slope(float64(first.Go.IdleKB)/1024, float64(last.Go.IdleKB)/1024))
	rep.add("of which goroutine stacks, slope", "MiB/min", slope(float64(first.Go.StackKB)/1024, float64(last.Go.StackKB)/1024))
	rep.add("of which runtime structures, slope", "MiB/min", slope(float64(first.Go.MetaKB)/1024, float64(last.Go.MetaKB)/1024))
	outside := func(x soakSample) float64 { return float64(x.Mem.RSSKB-x.StoreKB-x.GoKB) / 1024 }
	rep.add("RSS outside the Go runtime and datastore caches, slope", "MiB/min", slope(outside(first), outside(last)))
	rep.add("heap slope", "MiB/min", slope(float64(first.Mem.HeapKB)/1024, float64(last.Mem.HeapKB)/1024))
	rep.add("RSS slope", "MiB/min", slope(float64(first.Mem.RSSKB)/1024, float64(last.Mem.RSSKB)/1024))
	rep.add("goroutine slope", "/min", slope(float64(first.Mem.Goroutines), float64(last.Mem.Goroutines)))
	for _, s := range samples {
		rep.note("at %s: RSS %d KiB, heap %d KiB, Go runtime %d KiB (free heap kept %d, stacks %d, structures %d), datastore %d KiB, %d tables open, store %d KiB on disk, %d goroutines, %d open files",
			s.At.Round(time.Second), s.Mem.RSSKB, s.Mem.HeapKB, s.GoKB, s.Go.IdleKB, s.Go.StackKB, s.Go.MetaKB, s.StoreKB, s.OpenTables, s.StoreDiskKB, s.Mem.Goroutines, s.FDs)
	}
	rep.note("samples are of the whole bench process (%d nodes in one process), after a GC, from the end of a warm-up of a quarter of the run", nodesN)
	return rep, nil
}

func readGoMemory() goMemory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return goMemory{
		IdleKB:  int((ms.HeapIdle - ms.HeapReleased) / 1024),
		StackKB: int(ms.StackSys / 1024),
		MetaKB:  int((ms.GCSys + ms.MSpanSys + ms.MCacheSys + ms.BuckHashSys + ms.OtherSys) / 1024),
	}
}

// sumDirKB is the size of the files under dirs.
func sumDirKB(dirs []string) int {
	var total int64
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil {
					total += info.Size()
				}
			}
			return nil
		})
	}
	return int(total / 1024)
}

// goRuntimeKB is the memory the Go runtime has from the OS and has not
// returned to it.
func goRuntimeKB() int {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int((ms.Sys - ms.HeapReleased) / 1024)
}

// storeGauges sums every node's datastore gauges by name.
func storeGauges(regs []*prometheus.Registry) map[string]float64 {
	sums := map[string]float64{}
	for _, reg := range regs {
		families, err := reg.Gather()
		if err != nil {
			continue
		}
		for _, f := range families {
			if !strings.HasPrefix(f.GetName(), "peerchat_store_") {
				continue
			}
			for _, m := range f.GetMetric() {
				sums[f.GetName()] += m.GetGauge().GetValue()
			}
		}
	}
	return sums
}

// writeHeapProfile writes what the live heap is made of to file.
func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// openFDs counts this process's open file descriptors.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
