package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as a child process too: the
// scenarios start children by re-running their own executable.
func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

// TestScenariosRunAtTheirSmallestSize runs every registered scenario once,
// as small as its registration's smallest flags make it, so the suite
// cannot rot. It judges no number: CI machines are shared and the targets
// are for docs/performance.md, not for tests.
func TestScenariosRunAtTheirSmallestSize(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nodes and child processes")
	}
	for _, sc := range registry {
		name := sc.name
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out := filepath.Join(t.TempDir(), "result.json")
			args := append([]string{name, "--json", out, "--workdir", t.TempDir()}, sc.smallest...)
			var stdout, stderr bytes.Buffer
			start := time.Now()
			if code := run(ctx, args, &stdout, &stderr); code != 0 {
				t.Fatalf("peerchat-bench %s exited %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
			}
			t.Logf("%s in %v:\n%s", name, time.Since(start).Round(time.Millisecond), stdout.String())
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var got Run
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("results are not JSON: %v", err)
			}
			if len(got.Reports) != 1 || got.Reports[0].Scenario != name || len(got.Reports[0].Rows) == 0 {
				t.Fatalf("results hold no %s rows: %s", name, b)
			}
			for _, row := range got.Reports[0].Rows {
				if row.Floor != nil && row.Ratio == nil && *row.Floor != 0 {
					t.Errorf("row %q has a floor but no ratio", row.Metric)
				}
			}
		})
	}
}
