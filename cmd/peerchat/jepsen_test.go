package main

// The suite's run of the Jepsen-style check (cmd/internal/jepsen): three
// node processes of the binary TestMain built, clients posting with client
// ids and retries, a random node killed with SIGKILL every 2 to 5 seconds,
// and resuming event readers on every transport. The harness counts; this
// test only judges, so the bench's long run (peerchat-bench jepsen) and
// the suite check the very same thing. docs/reliability.md reports the
// numbers.

import (
	"context"
	"flag"
	"log/slog"
	"testing"
	"time"

	"github.com/peerchat/peerchat/cmd/internal/jepsen"
)

var (
	jepsenDuration = flag.Duration("jepsen-duration", 25*time.Second, "how long TestJepsen sends and kills; a longer run gives docs/reliability.md its numbers")
	jepsenRate     = flag.Float64("jepsen-rate", 25, "messages a second each TestJepsen client tries to send")
)

// TestJepsenKill9WithResumingReadersLosesAndRepeatsNothing runs three
// nodes under clients that send with client ids and retries, kills a
// random node with SIGKILL every 2 to 5 seconds and restarts it within a
// second, and follows every node's event log with a resuming reader on
// each transport. Once the kills stop and the nodes converge, every count
// must be 0: acknowledged messages lost, messages stored twice, unexpected
// messages, message events given twice to a reader, message events a
// reader never got, refused resumes, seq gaps and sends never
// acknowledged.
func TestJepsenKill9WithResumingReadersLosesAndRepeatsNothing(t *testing.T) {
	cfg := jepsen.Config{
		Nodes:        3,
		Rate:         *jepsenRate,
		Duration:     *jepsenDuration,
		KillEveryMin: 2 * time.Second,
		KillEveryMax: 5 * time.Second,
		MaxDown:      time.Second,
		Binary:       peerchatBin,
		WorkDir:      t.TempDir(),
		Logger:       slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	t.Logf("%v of sends and kills at %.0f messages a second per client", cfg.Duration, cfg.Rate)
	rep, err := jepsen.Run(context.Background(), cfg)
	if rep != nil {
		for _, line := range rep.Summary() {
			t.Log(line)
		}
		for _, ex := range rep.Examples {
			t.Log(ex)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kills == 0 || rep.Acked == 0 {
		t.Errorf("the run had %d kills and %d acknowledged sends; it proves nothing", rep.Kills, rep.Acked)
	}
	// Failures lists every class, sends never acknowledged among them.
	for _, f := range rep.Failures() {
		if f.Count != 0 {
			t.Errorf("%d %s, want 0", f.Count, f.What)
		}
	}
	for _, tr := range jepsen.Transports {
		if v := rep.ByTransport[tr]; v == nil || v.Readers != cfg.Nodes || v.MessageEvents == 0 {
			t.Errorf("%s readers: %+v; want %d readers that were given message events", tr, v, cfg.Nodes)
		}
	}
}
