// Package jepsen is a Jepsen-style check of peerchat from the outside,
// shared by the suite (cmd/peerchat's TestJepsen…, short) and the bench
// (peerchat-bench jepsen, long): several processes of the real binary,
// clients posting with client ids and retrying over the documented HTTP
// API, a random node killed with SIGKILL every few seconds and restarted
// after up to a second, and resuming event readers on every transport
// (WebSocket, SSE, long polling). After the nodes converge it counts what
// went wrong: acknowledged messages lost, messages stored twice,
// unexpected messages, message events given twice, message events never
// given, refused resumes and skipped seqs. docs/reliability.md says what
// each promise is and reports the numbers.
//
// The package does not import testing: Run returns a Report and the
// caller judges it, so the test asserts every class is 0 and the bench
// prints a table.
package jepsen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Config is one run. The zero value of a duration or count field takes
// the default named on it; Binary and WorkDir are required.
type Config struct {
	Nodes    int           // node processes, each with one client and one reader per transport; default 3
	Rate     float64       // messages a second each client tries to send; default 25
	Duration time.Duration // how long the clients send and the nodes are killed; default 25 s
	// A random node is killed every KillEveryMin to KillEveryMax
	// (uniformly); defaults 2 s and 5 s.
	KillEveryMin, KillEveryMax time.Duration
	// MaxDown is the longest a killed node stays down before its restart,
	// so its clients meet refused connections and its readers redial;
	// default 1 s.
	MaxDown time.Duration
	// ConvergeTimeout bounds how long the nodes may take to hold the same
	// history once the sends stop; default 30 s (sync runs every 10 s, so
	// a message gossip missed arrives within one period and a reconnect).
	ConvergeTimeout time.Duration
	// Seed makes the kill schedule repeatable; 0 picks one from the clock.
	// The report names the seed used.
	Seed uint64

	Binary  string       // the peerchat binary to run
	WorkDir string       // a folder for the nodes' data folders, one subfolder each
	Logger  *slog.Logger // progress: kills, restarts, convergence; nil discards it
}

// ErrNotConverged is returned, with the report classified against the
// histories last read, when the nodes did not converge in time.
var ErrNotConverged = errors.New("the nodes did not converge")

const (
	// meetTimeout bounds how long the started nodes take to see each
	// other in the room before the run begins.
	meetTimeout = 30 * time.Second
	// readersTimeout bounds how long the readers take, once the nodes have
	// converged, to be given every message: events a flush still holds
	// back come out within it. A message not given by then is missed.
	readersTimeout = 20 * time.Second
)

func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Rate == 0 {
		c.Rate = 25
	}
	def(&c.Duration, 25*time.Second)
	def(&c.KillEveryMin, 2*time.Second)
	def(&c.KillEveryMax, 5*time.Second)
	def(&c.MaxDown, time.Second)
	def(&c.ConvergeTimeout, 30*time.Second)
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case c.Nodes < 2:
		return c, fmt.Errorf("jepsen: %d nodes; a run needs at least 2 to converge", c.Nodes)
	case c.Rate < 0 || c.Duration < 0 || c.KillEveryMin <= 0 || c.KillEveryMax < c.KillEveryMin || c.MaxDown < 0:
		return c, fmt.Errorf("jepsen: rate %v, duration %v, kills every %v to %v, down up to %v: each must be positive and the kill interval ordered",
			c.Rate, c.Duration, c.KillEveryMin, c.KillEveryMax, c.MaxDown)
	case c.Binary == "" || c.WorkDir == "":
		return c, errors.New("jepsen: Config needs the peerchat Binary and a WorkDir")
	}
	return c, nil
}

// Run starts the nodes, the readers and the clients, kills and restarts
// nodes for cfg.Duration, waits for the nodes to converge and the readers
// to catch up, and classifies what happened. An error means the run could
// not be carried out (a node did not start, ctx ended) and the report is
// nil, except for ErrNotConverged, which comes with the report. Every
// process and goroutine Run starts has ended when it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, log: cfg.Logger, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed>>9)), book: newSendBook(),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}}
	defer r.http.CloseIdleConnections()
	defer r.killAll()
	r.log.Info("jepsen: starting", "seed", cfg.Seed, "nodes", cfg.Nodes, "rate", cfg.Rate, "duration", cfg.Duration)
	if err := r.startNodes(ctx); err != nil {
		return nil, err
	}

	// Readers and clients end before the nodes are killed for good (the
	// defers run in reverse), so none of them records a last break.
	runCtx, cancel := context.WithCancel(ctx)
	var readerWG, clientWG sync.WaitGroup
	defer func() {
		cancel()
		clientWG.Wait()
		readerWG.Wait()
	}()
	readerCtx, stopReaders := context.WithCancel(runCtx)
	defer stopReaders()
	readers := map[*node][]*eventReader{}
	for _, n := range r.nodes {
		for _, tr := range Transports {
			rd := newEventReader(tr, n)
			readers[n] = append(readers[n], rd)
			readerWG.Go(func() { rd.run(readerCtx) })
		}
	}
	stopSends := make(chan struct{})
	for i, n := range r.nodes {
		c := &client{id: i, node: n, book: r.book}
		clientWG.Go(func() { c.run(runCtx, stopSends, cfg.Rate) })
	}

	rep := &Report{Seed: cfg.Seed}
	if err := r.chaos(ctx, rep); err != nil {
		return nil, err
	}
	close(stopSends)
	clientWG.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("jepsen: %w", err)
	}
	stopped := time.Now()
	r.log.Info("jepsen: sends stopped; waiting for the nodes to converge", "kills", rep.Kills)

	histories, why := r.converge(ctx, rep, stopped)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("jepsen: %w", ctx.Err())
	}
	if rep.Converged {
		r.waitReaders(ctx, readers, histories)
	}
	stopReaders()
	readerWG.Wait()
	rep.addSends(r.book)
	rep.classify(r.book, histories, r.nodes, readers)
	if !rep.Converged {
		return rep, fmt.Errorf("jepsen: %w within %v of the last send: %s", ErrNotConverged, cfg.ConvergeTimeout, why)
	}
	return rep, nil
}

// run is the state of one Run.
type run struct {
	cfg   Config
	log   *slog.Logger
	rng   *rand.Rand
	book  *sendBook
	http  *http.Client // for the harness's own requests: peers, histories
	nodes []*node
	// lastRestart is when the last killed node answered again, for the
	// convergence time after it.
	lastRestart time.Time
}

// startNodes starts every node, each dialling those before it, and waits
// until each sees all the others in the room.
func (r *run) startNodes(ctx context.Context) error {
	for i := range r.cfg.Nodes {
		name := fmt.Sprintf("jepsen-%c", 'a'+i)
		dir := filepath.Join(r.cfg.WorkDir, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("jepsen: data folder: %w", err)
		}
		n, err := newNode(name, dir)
		if err != nil {
			return err
		}
		r.nodes = append(r.nodes, n)
		if err := n.start(ctx, r.cfg.Binary, r.nodes[:i]); err != nil {
			return fmt.Errorf("jepsen: %w", err)
		}
	}
	why, err := pollUntil(ctx, meetTimeout, 50*time.Millisecond, func() string {
		for _, n := range r.nodes {
			if got := n.roomPeers(ctx, r.http); got < r.cfg.Nodes-1 {
				return fmt.Sprintf("%s has %d peers in the room, want %d", n.name, got, r.cfg.Nodes-1)
			}
		}
		return ""
	})
	if err != nil {
		return fmt.Errorf("jepsen: the nodes did not meet: %w (%s)", err, why)
	}
	return nil
}

// chaos kills a random node every KillEveryMin to KillEveryMax and
// restarts it after up to MaxDown, until cfg.Duration has passed since it
// began. It runs on Run's goroutine, the only one that touches a node's
// process.
func (r *run) chaos(ctx context.Context, rep *Report) error {
	end := time.Now().Add(r.cfg.Duration)
	var down time.Duration // from SIGKILL until the API answers again, summed
	for {
		pause := r.cfg.KillEveryMin + r.randDuration(r.cfg.KillEveryMax-r.cfg.KillEveryMin)
		if time.Now().Add(pause).After(end) {
			break
		}
		// The schedule itself, not a wait for a condition.
		if err := sleep(ctx, pause); err != nil {
			return fmt.Errorf("jepsen: %w", err)
		}
		n := r.nodes[r.rng.IntN(len(r.nodes))]
		killed := time.Now()
		if err := n.p.kill(); err != nil {
			return fmt.Errorf("jepsen: %w", err)
		}
		rep.Kills++
		if err := sleep(ctx, r.randDuration(r.cfg.MaxDown)); err != nil {
			return fmt.Errorf("jepsen: %w", err)
		}
		if err := n.start(ctx, r.cfg.Binary, r.nodes); err != nil {
			return fmt.Errorf("jepsen: restart after kill %d: %w", rep.Kills, err)
		}
		r.lastRestart = time.Now()
		down += r.lastRestart.Sub(killed)
		r.log.Info("jepsen: killed and restarted", "node", n.name, "kill", rep.Kills, "down", r.lastRestart.Sub(killed).Round(time.Millisecond))
	}
	if rep.Kills > 0 {
		rep.MeanDown = down / time.Duration(rep.Kills)
	}
	return sleep(ctx, time.Until(end))
}

// randDuration is uniform in [0, d).
func (r *run) randDuration(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(r.rng.Int64N(int64(d)))
}

// converge waits until every node holds every acknowledged message and as
// many messages as the others, and returns the histories last read with,
// if they did not converge, why not.
func (r *run) converge(ctx context.Context, rep *Report, stopped time.Time) ([][]message, string) {
	r.book.mu.Lock()
	acked := make(map[string]string, len(r.book.acked))
	for cid, id := range r.book.acked {
		acked[cid] = id
	}
	r.book.mu.Unlock()
	var histories [][]message
	why, err := pollUntil(ctx, r.cfg.ConvergeTimeout, 100*time.Millisecond, func() string {
		var hs [][]message
		for _, n := range r.nodes {
			h, err := n.history(ctx, r.http)
			if err != nil {
				return err.Error()
			}
			hs = append(hs, h)
		}
		histories = hs
		return sameAndComplete(hs, acked, r.nodes)
	})
	if err != nil {
		r.log.Warn("jepsen: not converged", "why", why)
		return histories, why
	}
	rep.Converged = true
	rep.ConvergedAfterSends = time.Since(stopped)
	if !r.lastRestart.IsZero() {
		rep.ConvergedAfterStart = time.Since(r.lastRestart)
	}
	r.log.Info("jepsen: converged", "after_sends", rep.ConvergedAfterSends.Round(time.Millisecond), "messages", len(histories[0]))
	return histories, ""
}

// waitReaders waits until every reader has been given every message of
// its node, for at most readersTimeout; what is still missing then is
// counted as missed by classify.
func (r *run) waitReaders(ctx context.Context, readers map[*node][]*eventReader, histories [][]message) {
	why, err := pollUntil(ctx, readersTimeout, 50*time.Millisecond, func() string {
		for i, n := range r.nodes {
			for _, rd := range readers[n] {
				if missing := missedBy(rd, histories[i]); missing > 0 {
					return fmt.Sprintf("%s has not been given %d messages", rd, missing)
				}
			}
		}
		return ""
	})
	if err != nil {
		r.log.Warn("jepsen: readers did not catch up", "why", why)
	}
}

// killAll kills every node still running, at the end of the run.
func (r *run) killAll() {
	for _, n := range r.nodes {
		if n.p != nil {
			if err := n.p.kill(); err != nil {
				r.log.Error("jepsen: " + err.Error())
			}
		}
	}
}

// errTimeout is what pollUntil returns when its deadline passes.
var errTimeout = errors.New("timed out")

// pollUntil calls cond every interval until it returns "" (done), the
// timeout passes or ctx ends; it returns cond's last explanation with the
// error.
func pollUntil(ctx context.Context, timeout, interval time.Duration, cond func() string) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		why := cond()
		if why == "" {
			return "", nil
		}
		select {
		case <-ctx.Done():
			return why, ctx.Err()
		case <-deadline.C:
			return why, fmt.Errorf("%w after %v", errTimeout, timeout)
		case <-tick.C:
		}
	}
}

// sleep waits d or until ctx ends; it is for the run's schedule (when to
// kill, how long to stay down), never for a result.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
