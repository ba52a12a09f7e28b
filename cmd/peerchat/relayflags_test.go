package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/relay"
)

// TestRelayFlagsFromEnvironment starts `peerchat relay` configured only
// through PEERCHAT_ variables, then one where flags override them: the
// relay reads the environment as the node does.
func TestRelayFlagsFromEnvironment(t *testing.T) {
	t.Run("environment alone", func(t *testing.T) {
		dir := t.TempDir()
		metrics := freeAPIAddr(t)
		p := launch(t, procSpec{name: "env-relay", args: []string{"relay"}, env: []string{
			"PEERCHAT_DATA=" + dir,
			"PEERCHAT_LISTEN=/ip4/127.0.0.1/tcp/0",
			"PEERCHAT_METRICS=" + metrics,
			"PEERCHAT_MAX_CONNS=100",
		}})
		p.waitLine("relay ready", startTimeout)
		listen := relayLines(p, "listening: ")
		if len(listen) == 0 {
			t.Fatalf("the relay printed no listen address:\n%s", p.stdout)
		}
		for _, a := range listen {
			if !strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
				t.Errorf("relay listens on %s, want only PEERCHAT_LISTEN /ip4/127.0.0.1/tcp/0", a)
			}
		}
		if got, want := relayLines(p, "metrics: "), "http://"+metrics+"/metrics"; len(got) != 1 || got[0] != want {
			t.Errorf("metrics lines %q, want PEERCHAT_METRICS %s", got, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "identity.key")); err != nil {
			t.Errorf("no identity key in PEERCHAT_DATA %s: %v", dir, err)
		}
	})

	t.Run("flags win over environment", func(t *testing.T) {
		envDir, flagDir := t.TempDir(), t.TempDir()
		p := launch(t, procSpec{
			name: "flag-relay",
			args: []string{"relay", "--data", flagDir, "--listen", "/ip4/127.0.0.1/tcp/0"},
			env:  []string{"PEERCHAT_DATA=" + envDir, "PEERCHAT_LISTEN=/ip4/127.0.0.1/udp/0/quic-v1"},
		})
		p.waitLine("relay ready", startTimeout)
		for _, a := range relayLines(p, "listening: ") {
			if !strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
				t.Errorf("relay listens on %s, want only --listen /ip4/127.0.0.1/tcp/0 (the command line replaces PEERCHAT_LISTEN)", a)
			}
		}
		if _, err := os.Stat(filepath.Join(flagDir, "identity.key")); err != nil {
			t.Errorf("no identity key in --data %s: %v", flagDir, err)
		}
		if entries, _ := os.ReadDir(envDir); len(entries) != 0 {
			t.Errorf("the relay wrote into PEERCHAT_DATA %s although --data was given", envDir)
		}
	})
}

// relayLines returns what follows prefix on each line of p's stdout
// that starts with it.
func relayLines(p *proc, prefix string) []string {
	lines, _ := p.stdout.Snapshot()
	var out []string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// TestRelayLimitFlagsReadTheirEnvironmentVariables checks flags of every
// kind (number, duration, rate, switch, repeatable) against their PEERCHAT_
// variables, and that a variable's bad value is refused with its name.
func TestRelayLimitFlagsReadTheirEnvironmentVariables(t *testing.T) {
	t.Setenv("PEERCHAT_MAX_CONNS", "77")
	t.Setenv("PEERCHAT_RESERVATION_TTL", "5m")
	t.Setenv("PEERCHAT_CONN_RATE_PER_IP", "2.5")
	t.Setenv("PEERCHAT_ALL_ROOMS", "true")
	t.Setenv("PEERCHAT_ROOM", "a, b")
	cfg, err := parseRelayFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.relay.Limits
	if l.MaxConns != 77 || l.ReservationTTL != 5*time.Minute || l.ConnRatePerIP != 2.5 {
		t.Errorf("limits %+v, want MaxConns 77, ReservationTTL 5m, ConnRatePerIP 2.5 from the environment", l)
	}
	if !cfg.relay.AllRooms || strings.Join(cfg.relay.Rooms, ",") != "a,b" {
		t.Errorf("AllRooms %v, rooms %q; want true and [a b] from the environment", cfg.relay.AllRooms, cfg.relay.Rooms)
	}

	cfg, err = parseRelayFlags([]string{"--max-conns", "9", "--room", "c"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.relay.Limits.MaxConns != 9 || strings.Join(cfg.relay.Rooms, ",") != "c" {
		t.Errorf("MaxConns %d, rooms %q; want the command line's 9 and [c]", cfg.relay.Limits.MaxConns, cfg.relay.Rooms)
	}

	t.Setenv("PEERCHAT_MAX_CONNS", "lots")
	if _, err := parseRelayFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "PEERCHAT_MAX_CONNS") {
		t.Errorf("PEERCHAT_MAX_CONNS=lots: error %v, want one naming the variable", err)
	}
}

// TestFlagDefaultsAreTheLibraryDefaults parses empty command lines: the
// rate limit flags must default to node.RateLimit's defaults and the relay's
// limit flags to relay.Limits', so that a default changed in the library is
// changed on the command line too.
func TestFlagDefaultsAreTheLibraryDefaults(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := node.RateLimit{}.WithDefaults()
	if got := cfg.node.RateLimit; got.PerSecond != want.PerSecond || got.Burst != want.Burst {
		t.Errorf("--rate-limit %v and --rate-burst %d by default, want node.RateLimit's %v and %d", got.PerSecond, got.Burst, want.PerSecond, want.Burst)
	}
	rcfg, err := parseRelayFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rcfg.relay.Limits, (relay.Limits{}).WithDefaults(); got != want {
		t.Errorf("relay limit flags default to\n%+v\nwant relay.Limits' defaults\n%+v", got, want)
	}
	if rcfg.relay.MaxRooms != relay.DefaultMaxRooms {
		t.Errorf("--max-rooms defaults to %d, want relay.DefaultMaxRooms %d", rcfg.relay.MaxRooms, relay.DefaultMaxRooms)
	}
}

// TestRelayBootstrapFromFlagsAndEnvironment reads other relays from
// --bootstrap (repeatable) and from PEERCHAT_BOOTSTRAP, the command line
// replacing the environment, and refuses an address without a peer ID.
func TestRelayBootstrapFromFlagsAndEnvironment(t *testing.T) {
	const (
		a = "/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
		b = "/ip4/192.0.2.2/udp/4001/quic-v1/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8"
	)
	t.Setenv("PEERCHAT_BOOTSTRAP", a+","+b)
	cfg, err := parseRelayFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.relay.Bootstrap, ","); got != a+","+b {
		t.Errorf("bootstrap %q from PEERCHAT_BOOTSTRAP, want [%s %s]", cfg.relay.Bootstrap, a, b)
	}
	cfg, err = parseRelayFlags([]string{"--bootstrap", b}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.relay.Bootstrap, ","); got != b {
		t.Errorf("bootstrap %q, want the command line's [%s] alone", cfg.relay.Bootstrap, b)
	}
	if _, err := parseRelayFlags([]string{"--bootstrap", "/ip4/192.0.2.1/tcp/4001"}, io.Discard); err == nil || !strings.Contains(err.Error(), "--bootstrap") {
		t.Errorf("--bootstrap without /p2p/: error %v, want one naming the flag", err)
	}
}

// TestNoDHTFlagTurnsTheDHTOff reads --no-dht and PEERCHAT_NO_DHT; the
// default leaves the DHT on.
func TestNoDHTFlagTurnsTheDHTOff(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.node.DHT.Off {
		t.Error("the DHT is off by default")
	}
	if cfg, err = parseFlags([]string{"--no-dht"}, io.Discard); err != nil || !cfg.node.DHT.Off {
		t.Errorf("--no-dht: off %v, err %v; want off", cfg.node.DHT.Off, err)
	}
	t.Setenv("PEERCHAT_NO_DHT", "true")
	if cfg, err = parseFlags(nil, io.Discard); err != nil || !cfg.node.DHT.Off {
		t.Errorf("PEERCHAT_NO_DHT=true: off %v, err %v; want off", cfg.node.DHT.Off, err)
	}
}
