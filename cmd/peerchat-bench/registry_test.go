package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestFlagsKeepTheirNamesAndDefaults pins the flags as they were before
// each scenario registered its own: scripts and docs/performance.md pass
// them, so the registry must not rename one or move a default. A new
// scenario's flags need no entry here.
func TestFlagsKeepTheirNamesAndDefaults(t *testing.T) {
	want := map[string]string{
		"blockprofile":    "",
		"chat-messages":   "20",
		"chats":           "100",
		"cpuprofile":      "",
		"diffs":           "0,10,1000,10000",
		"fanout-messages": "100",
		"fanout-rate":     "10",
		"heapprofile":     "",
		"history":         "100000",
		"json":            "",
		"links":           "4",
		"messages":        "2000",
		"nodes":           "100",
		"peers":           "10",
		"procs":           "0",
		"rate":            "200",
		"rates":           "500,1000,2000,3500,5000,7500",
		"reservations":    "1000",
		"rooms":           "100",
		"size":            "200",
		"soak-duration":   "1m0s",
		"soak-retention":  "0s",
		"step":            "4s",
		"tp-nodes":        "5",
		"transport":       "tcp",
		"v":               "false",
		"workdir":         "",
	}
	fs, _, _ := newFlagSet(io.Discard)
	for name, def := range want {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("flag -%s is gone", name)
			continue
		}
		if f.DefValue != def {
			t.Errorf("flag -%s defaults to %q, want %q as before", name, f.DefValue, def)
		}
	}
}

// TestEveryScenarioIsListedRunnableAndSized checks what the registry
// promises main.go, `all` and the smoke test: every scenario has a run,
// appears in the usage text with its summary, and says how to make it
// small; `all` runs them in rank order.
func TestEveryScenarioIsListedRunnableAndSized(t *testing.T) {
	if len(registry) == 0 {
		t.Fatal("no scenario registered")
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), nil, io.Discard, &stderr); code != 2 {
		t.Errorf("peerchat-bench without a scenario exited %d, want 2", code)
	}
	_, _, runs := newFlagSet(io.Discard)
	for i, s := range registry {
		if runs[s.name] == nil {
			t.Errorf("scenario %s has no run", s.name)
		}
		if !strings.Contains(stderr.String(), s.name) || !strings.Contains(stderr.String(), s.summary) {
			t.Errorf("the usage text does not list %s with its summary %q:\n%s", s.name, s.summary, stderr.String())
		}
		if s.smallest == nil {
			t.Errorf("scenario %s registers no smallest flags: the smoke test would run it at full size", s.name)
		}
		if i > 0 && registry[i-1].rank >= s.rank {
			t.Errorf("scenario %s (rank %d) comes after %s (rank %d)", s.name, s.rank, registry[i-1].name, registry[i-1].rank)
		}
		if names := scenarioNames(); names[i] != s.name {
			t.Errorf("all runs %s in place %d, want %s", names[i], i, s.name)
		}
	}
}

// TestUnknownScenarioIsRefusedWithTheList runs a scenario no file
// registered: it must exit 2 before starting anything, naming every
// scenario there is.
func TestUnknownScenarioIsRefusedWithTheList(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"no-such-scenario"}, io.Discard, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, name := range append(scenarioNames(), "all") {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("the refusal does not name %s: %s", name, stderr.String())
		}
	}
}

// TestFloodSharesLatencysLoadFlags parses --messages and --rate once and
// checks that flood reads the very values latency parsed, since the two
// cannot both define them.
func TestFloodSharesLatencysLoadFlags(t *testing.T) {
	fs, o, _ := newFlagSet(io.Discard)
	if err := fs.Parse([]string{"--messages", "7", "--rate", "3.5"}); err != nil {
		t.Fatal(err)
	}
	got := latencyOptionsOf(o, fs)
	if got.Messages != 7 || got.Rate != 3.5 || got.options != o {
		t.Errorf("flood reads messages %d, rate %v; want 7 and 3.5 with the shared options", got.Messages, got.Rate)
	}
}

// TestRegisterRefusesAClash registers a scenario under a name and under a
// rank already taken, and one without flags: each must panic at start-up
// rather than shadow a scenario or fail in the middle of a run.
func TestRegisterRefusesAClash(t *testing.T) {
	first := registry[0]
	noRun := func(*flag.FlagSet) runFunc { return nil }
	for _, s := range []scenario{
		{name: first.name, rank: -1, summary: "same name", flags: noRun},
		{name: "clash-by-rank", rank: first.rank, summary: "same rank", flags: noRun},
		{name: "no-flags", rank: -2, summary: "no flags"},
		{name: "all", rank: -3, summary: "the word for every scenario", flags: noRun},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("register(%q, rank %d) did not panic", s.name, s.rank)
				}
			}()
			register(s)
		}()
	}
	if registry[0].name != first.name || isScenario("clash-by-rank") || isScenario("no-flags") {
		t.Errorf("a refused scenario entered the registry: %v", scenarioNames())
	}
}

// TestRegisterChildRefusesADuplicate registers a child role twice: the
// second must panic rather than replace the role a scenario relies on.
func TestRegisterChildRefusesADuplicate(t *testing.T) {
	for role, start := range childRoles {
		defer func() {
			if recover() == nil {
				t.Errorf("registering child role %s twice did not panic", role)
			}
		}()
		registerChild(role, start)
		return
	}
	t.Fatal("no child role registered")
}
