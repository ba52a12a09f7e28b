// Command peerchat-bench measures peerchat against the floor of what
// go-libp2p-pubsub alone costs on the same machine in the same run:
//
//	go run ./cmd/peerchat-bench SCENARIO [flags]
//
// The scenarios (peerchat-bench -h lists them) register themselves, one
// file each; see scenarios.go. Each starts real nodes on loopback (in this process, or in child
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

// options are the flags every scenario shares; each scenario's own flags
// live in its file, in an options struct that embeds these (see
// scenarios.go). The zero value is not used: parseOptions fills the
// defaults, which are the short run (under a minute per scenario).
type options struct {
	JSON       string
	Transport  string
	Verbose    bool
	CPUProfile string
	BlockProf  string
	WorkDir    string
	Size       int

	log *slog.Logger
}

// usage is the first lines of the usage text; the flags follow it.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: peerchat-bench SCENARIO [flags]")
	printScenarios(w)
}

// newFlagSet defines every flag, the shared ones bound to the options it
// returns and every scenario's own bound to the runs it returns by name.
func newFlagSet(stderr io.Writer) (*flag.FlagSet, *options, map[string]runFunc) {
	o := &options{}
	fs := flag.NewFlagSet("peerchat-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		usage(stderr)
		fmt.Fprintln(stderr, "flags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.JSON, "json", "", "write the results as JSON to this file")
	fs.StringVar(&o.Transport, "transport", "tcp", "libp2p transport on loopback: tcp or quic (peerchat and the floor alike)")
	fs.BoolVar(&o.Verbose, "v", false, "log progress and node warnings to stderr")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of this process (and FILE.childN of child processes)")
	fs.StringVar(&o.BlockProf, "blockprofile", "", "write a profile of where this process's goroutines wait (of use where a scenario's nodes run in this process, not in child processes)")
	fs.StringVar(&o.WorkDir, "workdir", "", "folder for the nodes' data (default: a new temporary folder, removed afterwards)")
	fs.IntVar(&o.Size, "size", 200, "message text size in bytes (every scenario)")
	return fs, o, defineScenarioFlags(fs)
}

// parseOptions parses the flags after the scenario: the shared ones into
// the options it returns, and every scenario's own into the runs it
// returns by scenario name.
func parseOptions(args []string, stderr io.Writer) (*options, map[string]runFunc, error) {
	fs, o, runs := newFlagSet(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q: flags go after the scenario", fs.Arg(0))
	}
	if _, err := listenAddrs(o.Transport); err != nil {
		return nil, nil, err
	}
	level := slog.LevelError
	if o.Verbose {
		level = slog.LevelInfo
	}
	o.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return o, runs, nil
}

// run is the command: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		usage(stderr)
		return 2
	}
	name := args[0]
	names := []string{name}
	if name == "all" {
		names = scenarioNames()
	} else if !isScenario(name) {
		fmt.Fprintf(stderr, "unknown scenario %q; scenarios: %s, all\n", name, strings.Join(scenarioNames(), ", "))
		return 2
	}
	o, runs, err := parseOptions(args[1:], stderr)
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
		rep, err := runs[n](ctx, o)
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
