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
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/relay"
)

// relayConfig is what `peerchat relay` was asked to do.
type relayConfig struct {
	relay   relay.Config
	metrics string
	verbose bool
}

// parseRelayFlags reads the flags of `peerchat relay`, each settable by its
// PEERCHAT_ variable as peerchat's are. See docs/relay.md.
func parseRelayFlags(args []string, stderr io.Writer) (relayConfig, error) {
	var cfg relayConfig
	var listen, rooms, allow, bootstrap listFlag
	l := &cfg.relay.Limits
	fs := flag.NewFlagSet("peerchat relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.relay.DataDir, "data", defaultDataDir()+"-relay", "data folder (identity key, history of served rooms)")
	fs.Var(&listen, "listen", "libp2p listen multiaddr (repeatable; default TCP and QUIC on port 4001, IPv4 and IPv6)")
	fs.Var(&rooms, "room", "room to serve: join it and carry its gossip (repeatable)")
	fs.BoolVar(&cfg.relay.AllRooms, "all-rooms", false, "serve every room a connected peer subscribes to")
	fs.IntVar(&cfg.relay.MaxRooms, "max-rooms", relay.DefaultMaxRooms, "most rooms joined with --all-rooms")
	fs.Var(&bootstrap, "bootstrap", "multiaddr of another relay to keep connected and serve the DHT with (repeatable)")
	fs.Var(&allow, "allow", "peer ID allowed to reserve a slot (repeatable; default: anyone)")
	fs.StringVar(&cfg.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9090)")
	fs.StringVar(&cfg.relay.Name, "name", "peerchat-relay", "display name in rooms")
	fs.BoolVar(&cfg.verbose, "verbose", false, "log debug messages")
	// The limits' defaults are relay.Limits', so that they live in one place.
	def := relay.Limits{}.WithDefaults()
	fs.IntVar(&l.MaxReservations, "max-reservations", def.MaxReservations, "peers that may hold a slot at once")
	fs.IntVar(&l.MaxReservationsPerIP, "max-reservations-per-ip", def.MaxReservationsPerIP, "slots per IP address")
	fs.IntVar(&l.MaxReservationsPerASN, "max-reservations-per-asn", def.MaxReservationsPerASN, "slots per IPv6 network operator (ASN)")
	fs.DurationVar(&l.ReservationTTL, "reservation-ttl", def.ReservationTTL, "how long a slot lasts unless renewed")
	fs.IntVar(&l.MaxCircuits, "max-circuits", def.MaxCircuits, "relayed connections open at once, in total")
	fs.IntVar(&l.MaxCircuitsPerPeer, "max-circuits-per-peer", def.MaxCircuitsPerPeer, "relayed connections to or from one peer")
	fs.DurationVar(&l.CircuitDuration, "circuit-duration", def.CircuitDuration, "cut relayed connections after this long (0: never; any limit stops gossip over circuits)")
	fs.Int64Var(&l.CircuitData, "circuit-data", def.CircuitData, "cut relayed connections after this many bytes each way (0: never)")
	fs.IntVar(&l.BufferSize, "buffer-size", def.BufferSize, "copy buffer per direction of a circuit, bytes")
	fs.IntVar(&l.MaxConns, "max-conns", def.MaxConns, "open connections (file descriptors), in total")
	fs.IntVar(&l.MaxConnsPerIP, "max-conns-per-ip", def.MaxConnsPerIP, "open connections from one IP address")
	fs.Float64Var(&l.ConnRatePerIP, "conn-rate-per-ip", def.ConnRatePerIP, "new connections per second from one IP address, long-run")
	// The same PEERCHAT_ variables as peerchat's own flags, read the same way.
	if err := applyEnv(fs); err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (see peerchat relay -h)", fs.Arg(0))
	}
	if l.CircuitDuration < 0 || l.CircuitData < 0 {
		return cfg, errors.New("--circuit-duration and --circuit-data cannot be negative")
	}
	cfg.relay.ListenAddrs, cfg.relay.Rooms = listen.values, rooms.values
	for _, s := range bootstrap.values {
		if _, err := peer.AddrInfoFromString(s); err != nil {
			return cfg, fmt.Errorf("--bootstrap %q must be a multiaddr ending in /p2p/PEER_ID: %w", s, err)
		}
		cfg.relay.Bootstrap = append(cfg.relay.Bootstrap, s)
	}
	for _, s := range allow.values {
		id, err := peer.Decode(s)
		if err != nil {
			return cfg, fmt.Errorf("--allow %q is not a peer ID: %w", s, err)
		}
		cfg.relay.Allow = append(cfg.relay.Allow, id)
	}
	return cfg, nil
}

// runRelay is `peerchat relay`: it runs a relay until ctx ends.
func runRelay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseRelayFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if cfg.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.relay.Logger = logger
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.relay.Registry = reg

	// Take the metrics port before starting, so a busy port fails fast.
	var metricsLn net.Listener
	if cfg.metrics != "" {
		if metricsLn, err = net.Listen("tcp", cfg.metrics); err != nil {
			return fmt.Errorf("cannot listen on the metrics address %s (change it with --metrics): %w", cfg.metrics, err)
		}
		defer metricsLn.Close()
	}
	if err := os.MkdirAll(cfg.relay.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	if err := applyLabCIDRs(logger); err != nil {
		return err
	}
	r, err := relay.New(ctx, cfg.relay)
	if err != nil {
		return err
	}
	defer r.Close()

	fmt.Fprintf(stdout, "peerchat relay %s\npeer ID: %s\n", node.Version, r.ID())
	for _, a := range r.Addrs() {
		fmt.Fprintf(stdout, "listening: %s\n", a)
	}
	serveErr := make(chan error, 1)
	var srv *http.Server
	if metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { serveErr <- srv.Serve(metricsLn) }()
		fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", metricsLn.Addr())
	}
	fmt.Fprintln(stdout, "relay ready")
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics server: %w", err)
		}
	}
	fmt.Fprintln(stdout, "shutting down")
	if srv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
	}
	return nil
}
