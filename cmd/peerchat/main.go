// Command peerchat runs a peerchat node with its local HTTP API.
//
//	peerchat [flags]      run a node
//	peerchat version      print the version
//	peerchat relay [flags] run a relay (see docs/relay.md)
//
// Every flag, of peerchat and of peerchat relay alike, can also be set
// through an environment variable: --api is PEERCHAT_API, --no-mdns is
// PEERCHAT_NO_MDNS, and repeatable flags take a comma-separated list
// (PEERCHAT_JOIN=lobby,dev). The two commands read the same names, so a
// node and a relay need environments of their own (PEERCHAT_DATA above all).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/node/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "peerchat:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, "peerchat", node.Version)
		return nil
	}
	if len(args) > 0 && args[0] == "relay" {
		return runRelay(ctx, args[1:], stdout, stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return runNode(ctx, cfg, stdout)
}

type config struct {
	node    node.Config
	api     string
	metrics string
	store   bool
	verbose bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var listen, bootstrap, join listFlag
	fs := flag.NewFlagSet("peerchat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.node.DataDir, "data", defaultDataDir(), "data folder (identity, history, API token)")
	fs.StringVar(&cfg.api, "api", "127.0.0.1:7777", "address of the local HTTP API")
	fs.Var(&listen, "listen", "libp2p listen multiaddr (repeatable; default TCP and QUIC on all interfaces)")
	fs.Var(&bootstrap, "bootstrap", "multiaddr of a peer to dial and keep connected (repeatable)")
	var relays listFlag
	fs.Var(&relays, "relay", "multiaddr of a relay to keep a reservation with and find peers through (repeatable)")
	fs.BoolVar(&cfg.node.NoMDNS, "no-mdns", false, "turn off LAN discovery by mDNS")
	fs.BoolVar(&cfg.node.DHT.Off, "no-dht", false, "turn off finding room peers across relays in peerchat's DHT")
	fs.Var(&join, "join", "room to join at start (repeatable; default lobby)")
	fs.StringVar(&cfg.node.Name, "name", "", "display name (default: the host name)")
	fs.BoolVar(&cfg.verbose, "verbose", false, "log debug messages")
	fs.StringVar(&cfg.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics")
	fs.BoolVar(&cfg.store, "store", false, "keep the joined rooms' history for peers that are offline (default retention 720h and 1 GiB per room)")
	fs.DurationVar(&cfg.node.Retention.MaxAge, "retention", 0, "drop messages older than this (0 keeps them)")
	fs.Int64Var(&cfg.node.Retention.MaxBytes, "retention-bytes", 0, "drop the oldest messages of a room beyond this many bytes (0 keeps them)")
	// The defaults are the library's, so that changing them in node changes
	// them here too.
	rateDefaults := node.RateLimit{}.WithDefaults()
	fs.Float64Var(&cfg.node.RateLimit.PerSecond, "rate-limit", rateDefaults.PerSecond, "envelopes a second one author may post into one room, sustained")
	fs.IntVar(&cfg.node.RateLimit.Burst, "rate-burst", rateDefaults.Burst, "envelopes one author may post into one room at once")
	if err := applyEnv(fs); err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see peerchat -h)", fs.Arg(0))
	}
	cfg.node.ListenAddrs, cfg.node.Bootstrap, cfg.node.Rooms = listen.values, bootstrap.values, join.values
	cfg.node.Relays = relays.values
	if len(cfg.node.Rooms) == 0 {
		cfg.node.Rooms = []string{"lobby"}
	}
	if cfg.store && cfg.node.Retention.MaxAge == 0 && cfg.node.Retention.MaxBytes == 0 {
		cfg.node.Retention.MaxAge, cfg.node.Retention.MaxBytes = 720*time.Hour, 1<<30
	}
	if cfg.node.Retention.MaxAge < 0 || cfg.node.Retention.MaxBytes < 0 {
		return cfg, fmt.Errorf("--retention and --retention-bytes must not be negative")
	}
	if cfg.node.RateLimit.PerSecond <= 0 || cfg.node.RateLimit.Burst <= 0 {
		return cfg, fmt.Errorf("--rate-limit and --rate-burst must be positive")
	}
	return cfg, nil
}

// envName is the environment variable that sets the flag named flagName:
// PEERCHAT_ and the name in upper case, dashes turned into underscores.
func envName(flagName string) string {
	return "PEERCHAT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets each flag of fs from its PEERCHAT_ variable. Both commands
// call it between defining their flags and parsing the command line, so
// that flags given on the command line win over the environment.
func applyEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok || err != nil {
			return
		}
		if lf, isList := f.Value.(*listFlag); isList {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					lf.Set(item)
				}
			}
			lf.fromEnv = true
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, e)
		}
	})
	return err
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "peerchat")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "peerchat-data"
	}
	return filepath.Join(home, ".local", "share", "peerchat")
}

// listFlag is a repeatable flag. Values from the environment are replaced,
// not extended, by values on the command line.
type listFlag struct {
	values  []string
	fromEnv bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(v string) error {
	if l.fromEnv {
		l.values, l.fromEnv = nil, false
	}
	l.values = append(l.values, v)
	return nil
}

func runNode(ctx context.Context, cfg config, stdout io.Writer) error {
	level := slog.LevelInfo
	if cfg.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg.node.Logger = logger
	reg := prometheus.NewRegistry()
	cfg.node.Registry = reg

	// Take the API port first: a busy port should fail before the node
	// starts, with a message that says which flag to change.
	ln, err := net.Listen("tcp", cfg.api)
	if err != nil {
		return fmt.Errorf("cannot listen on the API address %s (change it with --api): %w", cfg.api, err)
	}
	defer ln.Close()
	metricsLn, err := listenMetrics(cfg.metrics)
	if err != nil {
		return err
	}
	if metricsLn != nil {
		defer metricsLn.Close()
	}
	token, err := api.LoadOrCreateToken(cfg.node.DataDir)
	if err != nil {
		return err
	}
	if err := applyLabCIDRs(logger); err != nil {
		return err
	}
	n, err := node.New(ctx, cfg.node)
	if err != nil {
		return err
	}
	defer n.Close()

	fmt.Fprintf(stdout, "peerchat %s\npeer ID: %s\n", node.Version, n.ID())
	for _, a := range n.Addrs() {
		fmt.Fprintf(stdout, "listening: %s\n", a)
	}
	fmt.Fprintf(stdout, "API: http://%s (token in %s)\n", ln.Addr(), filepath.Join(cfg.node.DataDir, api.TokenFile))
	fmt.Fprintf(stdout, "web UI: %s\n", api.LoginURL(ln.Addr().String(), token))
	if !isLoopback(ln.Addr().String()) {
		logger.Warn("the API listens beyond loopback: anyone who can reach " + ln.Addr().String() + " and holds the token can drive this node")
	}
	if metricsLn != nil {
		msrv := metricsServer(reg)
		go msrv.Serve(metricsLn)
		defer msrv.Close()
		fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", metricsLn.Addr())
	}

	srv := &http.Server{
		Handler:           api.New(n, api.Options{Token: token, Logger: logger}),
		ReadHeaderTimeout: 10 * time.Second,
		// Requests share the node's lifetime: on shutdown, long polls and
		// WebSockets end at once instead of holding Shutdown up.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("API server: %w", err)
		}
	}
	fmt.Fprintln(stdout, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	return nil
}
