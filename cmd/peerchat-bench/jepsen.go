package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/peerchat/peerchat/cmd/internal/jepsen"
)

func init() {
	register(scenario{
		name:    "jepsen",
		rank:    90,
		summary: "exactly once across kill -9: 3 node processes, clients with client ids and retries, resuming readers on every transport",
		flags: func(fs *flag.FlagSet) runFunc {
			jo := &jepsenOptions{}
			// The default is the long run: 3 clients at 30 a
			// second for 140 s are 12,600 sends, with a kill every 2 to
			// 5 s (about 40 kills).
			fs.DurationVar(&jo.Duration, "jepsen-duration", 140*time.Second, "jepsen: how long the clients send and nodes are killed")
			fs.Float64Var(&jo.Rate, "jepsen-rate", 30, "jepsen: messages a second each client (one per node) tries to send")
			fs.IntVar(&jo.Nodes, "jepsen-nodes", 3, "jepsen: node processes")
			fs.DurationVar(&jo.KillMin, "jepsen-kill-min", 2*time.Second, "jepsen: shortest pause between two kills")
			fs.DurationVar(&jo.KillMax, "jepsen-kill-max", 5*time.Second, "jepsen: longest pause between two kills")
			fs.Uint64Var(&jo.Seed, "jepsen-seed", 0, "jepsen: seed of the kill schedule (0: from the clock; the report names it)")
			fs.StringVar(&jo.Binary, "peerchat-binary", "", "jepsen: the peerchat binary to run (default: go build ./cmd/peerchat into the work folder)")
			return func(ctx context.Context, o *options) (*Report, error) {
				jo.options = o
				return runJepsen(ctx, jo)
			}
		},
		// One kill at least (the first comes within 5 s) and a few hundred
		// sends, in about ten seconds plus the build.
		smallest: []string{"--jepsen-duration", "6s", "--jepsen-rate", "10"},
	})
}

// jepsenOptions are jepsen's flags.
type jepsenOptions struct {
	*options
	Duration         time.Duration
	Rate             float64
	Nodes            int
	KillMin, KillMax time.Duration
	Seed             uint64
	Binary           string
}

// runJepsen runs the Jepsen-style check of cmd/internal/jepsen, the same
// harness the suite's TestJepsen… runs for 25 s, and reports every class
// it counts, with 0 as the target of each. It has no floor: bare
// gossipsub promises nothing across a crash to compare with. A class
// above 0 is a NO in the table, not an error, so the run's numbers are
// printed and written whatever they are.
func runJepsen(ctx context.Context, o *jepsenOptions) (*Report, error) {
	rep := newReport("jepsen")
	rep.Params["duration"] = o.Duration.String()
	rep.Params["rate_per_client"] = o.Rate
	rep.Params["nodes"] = o.Nodes
	rep.Params["kill_every"] = o.KillMin.String() + "-" + o.KillMax.String()
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = buildPeerchat(ctx, o.WorkDir); err != nil {
			return nil, err
		}
	}
	work, err := tempDir(o.WorkDir, "jepsen-")
	if err != nil {
		return nil, err
	}
	res, err := jepsen.Run(ctx, jepsen.Config{
		Nodes: o.Nodes, Rate: o.Rate, Duration: o.Duration,
		KillEveryMin: o.KillMin, KillEveryMax: o.KillMax, Seed: o.Seed,
		Binary: bin, WorkDir: work, Logger: o.log,
	})
	if err != nil && !errors.Is(err, jepsen.ErrNotConverged) {
		return nil, err
	}
	rep.Params["seed"] = res.Seed
	addJepsenRows(rep, res, o.Nodes)
	if err != nil {
		rep.note("%v", err)
	}
	for _, ex := range res.Examples {
		rep.note("%s", ex)
	}
	rep.note("a client per node posts with a fresh client_msg_id and retries until acknowledged; a random node gets SIGKILL every %v to %v and restarts after up to 1 s; on every node one resuming reader per transport (ws: WebSocket, sse: SSE with Last-Event-ID, poll: long polling)", o.KillMin, o.KillMax)
	return rep, nil
}

// addJepsenRows writes the report's table: the sends and the chaos
// first, then each failure class, the readers' per transport.
func addJepsenRows(rep *Report, res *jepsen.Report, nodes int) {
	zero := func(metric string, v int) { rep.add(metric, "", float64(v)).judge("0", v == 0) }
	rep.add("sends attempted", "", float64(res.Attempted))
	rep.add("sends acknowledged", "", float64(res.Acked)).judge("all attempted", res.Acked == res.Attempted && res.Acked > 0)
	rep.add("retries", "", float64(res.Retries))
	rep.add("tries answered 429", "", float64(res.RateLimited))
	rep.add("sends answered 200 (stored by a try cut off)", "", float64(res.Resent))
	rep.add("kills (SIGKILL)", "", float64(res.Kills)).judge("≥ 1", res.Kills > 0)
	rep.add("down per kill, mean", "ms", float64(res.MeanDown)/1e6)
	conv := rep.add("converged after the sends stopped", "s", res.ConvergedAfterSends.Seconds()).judge("converges", res.Converged)
	if !res.Converged {
		conv.Value = math.NaN()
	}
	rep.add("converged after the last restart", "s", res.ConvergedAfterStart.Seconds())
	zero("acknowledged messages lost", res.Lost)
	zero("messages stored twice", res.StoredTwice)
	zero("unexpected messages", res.Unexpected)
	zero("sends never acknowledged", len(res.Unanswered))
	for _, tr := range jepsen.Transports {
		v := res.ByTransport[tr]
		if v == nil {
			v = &jepsen.TransportReport{}
		}
		rep.add(tr+": events given", "", float64(v.Events))
		rep.add(tr+": message events", "", float64(v.MessageEvents)).judge(fmt.Sprintf("from %d readers", nodes), v.Readers == nodes && v.MessageEvents > 0)
		rep.add(tr+": reconnects", "", float64(v.Reconnects))
		zero(tr+": duplicate message events", v.Duplicates)
		zero(tr+": missed message events", v.Missed)
		zero(tr+": refused resumes", v.Refused)
		zero(tr+": seq gaps", v.Gaps)
	}
}

// buildPeerchat builds the peerchat binary into dir, so the run measures
// the code of this checkout rather than whatever peerchat is installed.
// The package is named by import path, so the build works from any folder
// of the module (go run from its root, go test from the bench's folder).
func buildPeerchat(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "peerchat")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/peerchat/peerchat/cmd/peerchat")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build peerchat (run inside the module, or pass --peerchat-binary): %w\n%s", err, out)
	}
	return bin, nil
}
