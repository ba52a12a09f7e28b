package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/peerchat/peerchat/node"
)

// TestBusyAPIPortIsAClearError starts a second node on the API address the
// first one holds: it must exit non-zero at once and name the --api flag.
func TestBusyAPIPortIsAClearError(t *testing.T) {
	first := startLocalNode(t, "first", t.TempDir())

	dir := t.TempDir()
	second := launch(t, procSpec{name: "second", dataDir: dir, args: []string{
		"--data", dir,
		"--api", first.apiAddr,
		"--listen", "/ip4/127.0.0.1/tcp/0",
		"--no-mdns",
	}})
	code := second.waitExit(exitTimeout)
	if code == 0 {
		t.Fatalf("second node on busy API address %s exited 0\nstdout:\n%s\nstderr:\n%s", first.apiAddr, second.stdout, second.stderr)
	}
	stderr := second.stderr.String()
	if !strings.Contains(stderr, "--api") || !strings.Contains(stderr, first.apiAddr) {
		t.Errorf("stderr does not name --api and the address %s:\n%s", first.apiAddr, stderr)
	}
	if strings.Contains(second.stdout.String(), "API: http://") {
		t.Errorf("second node claimed to serve the API:\n%s", second.stdout)
	}
	// The first node is untouched.
	var info struct {
		PeerID string `json:"peer_id"`
	}
	first.call("GET", "/v1/node", nil, &info, http.StatusOK)
	if info.PeerID != first.peerID {
		t.Errorf("API at %s answers as %s, want the first node %s", first.apiAddr, info.PeerID, first.peerID)
	}
}

// TestVersionCommand checks that "peerchat version" prints the node's
// version and exits 0 without starting a node.
func TestVersionCommand(t *testing.T) {
	p := launch(t, procSpec{name: "version", args: []string{"version"}, env: []string{"PEERCHAT_DATA=" + t.TempDir()}})
	if code := p.waitExit(exitTimeout); code != 0 {
		t.Fatalf("peerchat version exited %d\nstderr:\n%s", code, p.stderr)
	}
	if got, want := strings.TrimSpace(p.stdout.String()), "peerchat "+node.Version; got != want {
		t.Errorf("peerchat version printed %q, want %q", got, want)
	}
}

// TestFlagsFromEnvironment starts a node configured only through
// PEERCHAT_ variables, then one where flags override them.
func TestFlagsFromEnvironment(t *testing.T) {
	roomsOf := func(p *proc) []string {
		var resp struct {
			Rooms []struct {
				Room string `json:"room"`
			} `json:"rooms"`
		}
		p.call("GET", "/v1/rooms", nil, &resp, http.StatusOK)
		var names []string
		for _, r := range resp.Rooms {
			names = append(names, r.Room)
		}
		slices.Sort(names)
		return names
	}
	nameOf := func(p *proc) string {
		var info struct {
			Name string `json:"name"`
		}
		p.call("GET", "/v1/node", nil, &info, http.StatusOK)
		return info.Name
	}

	t.Run("environment alone", func(t *testing.T) {
		dir := t.TempDir()
		api := freeAPIAddr(t)
		p := startProc(t, procSpec{name: "env-node", dataDir: dir, env: []string{
			"PEERCHAT_DATA=" + dir,
			"PEERCHAT_API=" + api,
			"PEERCHAT_LISTEN=/ip4/127.0.0.1/tcp/0",
			"PEERCHAT_NO_MDNS=true",
			"PEERCHAT_NAME=from-env",
			"PEERCHAT_JOIN=env-a, env-b",
		}})
		if p.apiAddr != api {
			t.Errorf("API on %s, want PEERCHAT_API %s", p.apiAddr, api)
		}
		if got := nameOf(p); got != "from-env" {
			t.Errorf("name %q, want PEERCHAT_NAME from-env", got)
		}
		if got, want := roomsOf(p), []string{"env-a", "env-b"}; !slices.Equal(got, want) {
			t.Errorf("rooms %v, want PEERCHAT_JOIN %v", got, want)
		}
		for _, a := range p.listen {
			if !strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") {
				t.Errorf("listens on %s, want only PEERCHAT_LISTEN /ip4/127.0.0.1/tcp/0", a)
			}
		}
	})

	t.Run("flags win over environment", func(t *testing.T) {
		dir := t.TempDir()
		p := startProc(t, procSpec{
			name:    "flag-node",
			dataDir: dir,
			env:     []string{"PEERCHAT_NAME=from-env", "PEERCHAT_JOIN=env-a,env-b", "PEERCHAT_NO_MDNS=1"},
			args:    []string{"--data", dir, "--api", freeAPIAddr(t), "--listen", "/ip4/127.0.0.1/tcp/0", "--name", "from-flag", "--join", "flag-room"},
		})
		if got := nameOf(p); got != "from-flag" {
			t.Errorf("name %q, want --name from-flag", got)
		}
		if got, want := roomsOf(p), []string{"flag-room"}; !slices.Equal(got, want) {
			t.Errorf("rooms %v, want only --join %v (the command line replaces PEERCHAT_JOIN)", got, want)
		}
	})
}

func TestRateLimitFlagsConfigureTheNodeAndRefuseNonsense(t *testing.T) {
	cfg, err := parseFlags([]string{"--rate-limit", "5", "--rate-burst", "7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.node.RateLimit; got.PerSecond != 5 || got.Burst != 7 {
		t.Fatalf("rate limit %+v, want 5/s with bursts of 7", got)
	}
	for _, args := range [][]string{{"--rate-limit", "0"}, {"--rate-burst", "-1"}} {
		if _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), "--rate-") {
			t.Errorf("%v: error %v, want one naming the flag", args, err)
		}
	}
}
