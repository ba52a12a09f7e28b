// Command peerchat-bench measures peerchat against the floor of what
// go-libp2p-pubsub alone costs on the same machine in the same run:
//
//	go run ./cmd/peerchat-bench SCENARIO [flags]
//
// Scenarios: latency, fanout, throughput, sync, footprint, relay, all.
// Each starts real nodes on loopback (in this process, or in child
// processes of this binary where the open-files cap or a clean RSS
// reading requires it), drives them through the Go API or the HTTP API a
// user would, prints a table with the ratio to the floor and, with --json,
// writes the results. docs/performance.md has a recent run and explains
// every target.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are every scenario's flags; each scenario reads its own. The
// zero value is not used: parseOptions fills the defaults, which are the
// short run (under a minute per scenario).
type options struct {
	JSON       string
	Transport  string
	Verbose    bool
	CPUProfile string
	HeapProf   string
	BlockProf  string
	WorkDir    string

	// latency
	Messages int
	Rate     float64
	Size     int

	// fanout
	Nodes          int
	Procs          int
	FanoutMessages int
	FanoutRate     float64
	Links          int

	// throughput
	TPNodes int
	Rates   string
	Step    time.Duration

	// sync
	History int
	Diffs   string

	// footprint
	Peers int
	Rooms int

	// relay
	Reservations int
	Chats        int
	ChatMessages int

	// soak
	SoakDuration time.Duration
	SoakKeep     time.Duration

	log *slog.Logger
}

var scenarios = map[string]func(context.Context, *options) (*Report, error){
	"latency":    runLatency,
	"fanout":     runFanout,
	"throughput": runThroughput,
	"sync":       runSync,
	"footprint":  runFootprint,
	"relay":      runRelay,
	"flood":      runFlood,
	"soak":       runSoak,
}

var order = []string{"latency", "fanout", "throughput", "sync", "footprint", "relay", "flood", "soak"}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("peerchat-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: peerchat-bench SCENARIO [flags]\nscenarios: %s, all\n", strings.Join(order, ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&o.JSON, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.Transport, "transport", "tcp", "libp2p transport on loopback: tcp or quic (peerchat and the floor alike)")
	fs.BoolVar(&o.Verbose, "v", false, "log progress and node warnings to stderr")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of this process (and FILE.childN of child processes)")
	fs.StringVar(&o.HeapProf, "heapprofile", "", "soak: write a heap profile of this process at the end of the run, while the nodes still run")
	fs.StringVar(&o.BlockProf, "blockprofile", "", "write a profile of where this process's goroutines wait (in-process scenarios: latency, throughput, sync)")
	fs.StringVar(&o.WorkDir, "workdir", "", "folder for the nodes' data (default: a new temporary folder, removed afterwards)")
	fs.DurationVar(&o.SoakDuration, "soak-duration", time.Minute, "soak: how long the nodes chat (the issue's full run is 30m)")
	fs.DurationVar(&o.SoakKeep, "soak-retention", 0, "soak: drop messages older than this (0 keeps the whole history, as a node does by default)")
	fs.IntVar(&o.Messages, "messages", 2000, "latency: messages sent")
	fs.Float64Var(&o.Rate, "rate", 200, "latency: messages per second")
	fs.IntVar(&o.Size, "size", 200, "message text size in bytes (every scenario)")
	fs.IntVar(&o.Nodes, "nodes", 100, "fanout: nodes in the room")
	fs.IntVar(&o.Procs, "procs", 0, "fanout: child processes hosting the nodes (0: one per 25 nodes)")
	fs.IntVar(&o.FanoutMessages, "fanout-messages", 100, "fanout: messages published")
	fs.Float64Var(&o.FanoutRate, "fanout-rate", 10, "fanout: messages per second")
	fs.IntVar(&o.Links, "links", 4, "fanout: peers each node dials when it starts (a random earlier node each)")
	fs.IntVar(&o.TPNodes, "tp-nodes", 5, "throughput: nodes in the room (all of them send)")
	fs.StringVar(&o.Rates, "rates", "500,1000,2000,3500,5000,7500", "throughput: total send rates tried in turn, messages per second")
	fs.DurationVar(&o.Step, "step", 4*time.Second, "throughput: how long each rate is held (the issue's target is 60s)")
	fs.IntVar(&o.History, "history", 100_000, "sync: messages in the room's history")
	fs.StringVar(&o.Diffs, "diffs", "0,10,1000,10000", "sync: messages one node lacks, one case each")
	fs.IntVar(&o.Peers, "peers", 10, "footprint: peers connected to the measured node")
	fs.IntVar(&o.Rooms, "rooms", 100, "footprint: extra rooms the measured node joins")
	fs.IntVar(&o.Reservations, "reservations", 1000, "relay: peers holding a reservation at once")
	fs.IntVar(&o.Chats, "chats", 100, "relay: concurrent relayed chats (pairs of peers)")
	fs.IntVar(&o.ChatMessages, "chat-messages", 20, "relay: messages each chat exchanges through the relay")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: flags go after the scenario", fs.Arg(0))
	}
	if _, err := listenAddrs(o.Transport); err != nil {
		return nil, err
	}
	level := slog.LevelError
	if o.Verbose {
		level = slog.LevelInfo
	}
	o.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return o, nil
}

// run is the command: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "usage: peerchat-bench SCENARIO [flags]\nscenarios: %s, all\n", strings.Join(order, ", "))
		return 2
	}
	name := args[0]
	names := []string{name}
	if name == "all" {
		names = order
	} else if scenarios[name] == nil {
		fmt.Fprintf(stderr, "unknown scenario %q; scenarios: %s, all\n", name, strings.Join(order, ", "))
		return 2
	}
	o, err := parseOptions(args[1:], stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	if o.WorkDir == "" {
		d, err := os.MkdirTemp("", "peerchat-bench-")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer os.RemoveAll(d)
		o.WorkDir = d
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if o.BlockProf != "" {
		// Sample one blocking event per 100 µs blocked: waits on the disk
		// and on queues are what a CPU profile cannot show.
		runtime.SetBlockProfileRate(100_000)
		defer func() {
			if f, err := os.Create(o.BlockProf); err == nil {
				pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	machine := readMachine()
	machine.Commit = gitCommit()
	fmt.Fprintf(stdout, "peerchat-bench %s on %d CPUs (%s), %d MB, %s, commit %s, transport %s\n",
		strings.Join(names, ","), machine.CPUs, machine.Model, machine.MemoryMB, machine.Go, machine.Commit, o.Transport)
	runRec := Run{Command: "peerchat-bench " + strings.Join(args, " "), Machine: machine}
	code := 0
	for _, n := range names {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		rep, err := scenarios[n](ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", n, err)
			code = 1
			continue
		}
		rep.Seconds = time.Since(start).Seconds()
		rep.print(stdout)
		runRec.Reports = append(runRec.Reports, rep)
		if o.JSON != "" {
			// Written after every scenario, so a long `all` run that is
			// cut short keeps what it measured.
			if err := writeJSON(o.JSON, runRec); err != nil {
				fmt.Fprintln(stderr, err)
				code = 1
			}
		}
	}
	return code
}

func numCPU() int       { return runtime.NumCPU() }
func goVersion() string { return runtime.Version() }

// gitCommit names the commit the run measured, when run inside the repo.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	// Uncommitted changes make the commit only an approximation.
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		commit += "-dirty"
	}
	return commit
}
