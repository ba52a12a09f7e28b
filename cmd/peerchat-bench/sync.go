package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

func init() {
	register(scenario{
		name:    "sync",
		rank:    40,
		summary: "bytes and time of history sync to a node lacking some of a room's messages",
		flags: func(fs *flag.FlagSet) runFunc {
			so := &syncOptions{}
			fs.IntVar(&so.History, "history", 100_000, "sync: messages in the room's history")
			fs.StringVar(&so.Diffs, "diffs", "0,10,1000,10000", "sync: messages one node lacks, one case each")
			return func(ctx context.Context, o *options) (*Report, error) {
				so.options = o
				return runSync(ctx, so)
			}
		},
		smallest: []string{"--history", "200", "--diffs", "0,10"},
	})
}

// syncOptions are sync's flags.
type syncOptions struct {
	*options
	History int
	Diffs   string
}

// runSync measures history sync between two nodes whose room holds
// o.History messages, one of them lacking N of them: the newest N (a node
// that was offline) and N chosen at random across the history (the hard
// case for set reconciliation, every difference in its own range): the bytes the sync protocol puts on its streams and the
// time until the lacking node has them all. The floor is one libp2p
// stream carrying exactly the missing envelopes between two bare hosts.
func runSync(ctx context.Context, o *syncOptions) (*Report, error) {
	rep := newReport("sync")
	diffs, err := parseInts(o.Diffs)
	if err != nil {
		return nil, fmt.Errorf("--diffs: %w", err)
	}
	rep.Params["history"] = o.History
	rep.Params["diffs"] = o.Diffs
	rep.Params["size"] = o.Size
	rep.Params["transport"] = o.Transport

	prep := time.Now()
	envs, err := makeHistory(o.History, o.Size)
	if err != nil {
		return nil, err
	}
	whole := 0
	for _, e := range envs {
		whole += len(e.env.Bytes())
	}
	dirA, err := tempDir(o.WorkDir, "sync-a-")
	if err != nil {
		return nil, err
	}
	if err := fillStore(ctx, dirA, envs, nil); err != nil {
		return nil, err
	}
	countA := &streamCounter{BandwidthCounter: metrics.NewBandwidthCounter()}
	a, err := startNode(ctx, dirA, nodeOptions{Transport: o.Transport, Rooms: []string{"bench"}, Logger: o.log, Extra: countA.install})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	rep.note("preparing %d signed messages and the stores took %.1f s (not measured)", o.History, time.Since(prep).Seconds())
	rep.add("whole history", "B", float64(whole))

	for _, c := range syncCases(diffs, o.History) {
		n := c.n
		missing := c.pick(len(envs))
		missingBytes := 0
		var missingEnvs [][]byte
		for i := range missing {
			missingBytes += len(envs[i].env.Bytes())
			missingEnvs = append(missingEnvs, envs[i].env.Bytes())
		}
		res, err := syncCase(ctx, o, a, countA, envs, missing)
		if err != nil {
			return nil, fmt.Errorf("%d missing: %w", n, err)
		}
		fl, err := syncFloor(ctx, o.options, missingEnvs)
		if err != nil {
			return nil, fmt.Errorf("floor, %d missing: %w", n, err)
		}
		allow := 1.2*float64(missingBytes) + 16<<10
		label := fmt.Sprintf("%d missing (%s)", n, c.spread)
		rep.addVs(label+": sync bytes", "B", float64(res.bytes), float64(fl.bytes)).
			judge("≤ 1.2x missing + 16 KiB", float64(res.bytes) <= allow)
		rep.add(label+": bytes of the missing envelopes", "B", float64(missingBytes))
		rep.add(label+": sync bytes / whole history", "%", 100*float64(res.bytes)/float64(whole))
		rep.addVs(label+": time to converge", "ms", ms(res.took), ms(fl.took))
		rep.add(label+": sync runs (both sides)", "", float64(res.runs))
	}
	rep.note("bytes are libp2p stream payload on whichever sync protocol the nodes negotiate (/peerchat/sync/1.1.0 between current nodes, or 1.0.0), both directions, counted on the complete node (before yamux and Noise framing); the floor streams exactly the missing envelopes")
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

type signedMsg struct {
	env *protocol.Envelope
	msg protocol.Message
}

// makeHistory signs n messages of one author, on both cores.
func makeHistory(n, size int) ([]signedMsg, error) {
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	out := make([]signedMsg, n)
	base := time.Now().Add(-time.Duration(n) * time.Millisecond).UTC().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	workers := max(1, numCPU())
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				body, _ := json.Marshal(protocol.MessageBody{Text: payload("h", i, base, size), AuthorName: "history"})
				env := &protocol.Envelope{Kind: protocol.KindMessage, Room: "bench", Lamport: uint64(i + 1),
					SentAt: base.Add(time.Duration(i) * time.Millisecond), Body: body}
				if err := env.Sign(key); err != nil {
					firstErr.Store(err)
					return
				}
				m, err := protocol.MessageFromEnvelope(env)
				if err != nil {
					firstErr.Store(err)
					return
				}
				out[i] = signedMsg{env, m}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return nil, fmt.Errorf("sign history: %w", err)
	}
	return out, nil
}

// fillStore writes every envelope not in skip into the store a node in
// dir will open, through the store's own group-commit path.
func fillStore(ctx context.Context, dir string, envs []signedMsg, skip map[int]bool) error {
	st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		return err
	}
	for i, e := range envs {
		if skip[i] {
			continue
		}
		if err := st.AddMessageAsync(ctx, e.env, e.msg); err != nil {
			st.Close()
			return err
		}
	}
	if err := st.Flush(ctx); err != nil {
		st.Close()
		return err
	}
	return st.Close()
}

type syncResult struct {
	bytes int64
	took  time.Duration
	runs  int
}

// syncCase starts a node lacking the missing messages, connects it to a
// and waits until it has them all and every sync run has finished.
func syncCase(ctx context.Context, o *syncOptions, a *node.Node, countA *streamCounter, envs []signedMsg, missing map[int]bool) (syncResult, error) {
	var res syncResult
	dirB, err := tempDir(o.WorkDir, "sync-b-")
	if err != nil {
		return res, err
	}
	if err := fillStore(ctx, dirB, envs, missing); err != nil {
		return res, err
	}
	b, err := startNode(ctx, dirB, nodeOptions{Transport: o.Transport, Rooms: []string{"bench"}, Logger: o.log})
	if err != nil {
		return res, err
	}
	defer b.Close()
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := b.Subscribe(subCtx, b.LastSeq())
	if err != nil {
		return res, err
	}
	var got atomic.Int64
	var allAt atomic.Int64 // unix nanos when the last missing message arrived
	go func() {
		for ev := range events {
			if ev.Type == protocol.EventMessage && got.Add(1) == int64(len(missing)) {
				allAt.Store(time.Now().UnixNano())
			}
		}
	}()
	runsBefore := finishedRuns(a, b.ID()) + finishedRuns(b, a.ID())
	before := countA.syncBytes()
	start := time.Now()
	var lastAt time.Time
	if err := connectAddr(ctx, b.Host(), a.Addrs()[0].String()); err != nil {
		return res, err
	}
	if err := waitUntil(ctx, 5*time.Minute, "the lacking node to receive every missing message", func() bool {
		done := finishedRuns(a, b.ID())+finishedRuns(b, a.ID()) > runsBefore
		if len(missing) == 0 && done && lastAt.IsZero() {
			lastAt = firstFinish(a, b)
		}
		if len(missing) > 0 && got.Load() >= int64(len(missing)) {
			lastAt = time.Unix(0, allAt.Load())
		}
		return !lastAt.IsZero() && done && running(a, b.ID())+running(b, a.ID()) == 0
	}); err != nil {
		return res, err
	}
	// Count until the streams have been quiet for half a second: a second
	// run started by the other side is part of the cost.
	last := countA.syncBytes()
	quietSince := time.Now()
	_ = waitUntil(ctx, 10*time.Second, "the sync streams to go quiet", func() bool {
		if cur := countA.syncBytes(); cur != last || running(a, b.ID())+running(b, a.ID()) > 0 {
			last, quietSince = cur, time.Now()
		}
		return time.Since(quietSince) > 500*time.Millisecond
	})
	res.bytes = last - before
	res.took = lastAt.Sub(start)
	res.runs = finishedRuns(a, b.ID()) + finishedRuns(b, a.ID()) - runsBefore
	return res, nil
}

// finishedRuns and running read a node's sync runs with peer p; the run
// counts are how many runs have completed (each run resets Received, but
// a finished run has FinishedAt set).
func finishedRuns(n *node.Node, p peer.ID) int {
	c := 0
	for _, r := range n.Syncs() {
		if r.Peer == p.String() && r.FinishedAt != nil {
			c++
		}
	}
	return c
}

// firstFinish is when the first sync run between a and b finished.
func firstFinish(a, b *node.Node) time.Time {
	var first time.Time
	for _, pair := range [][2]*node.Node{{a, b}, {b, a}} {
		for _, r := range pair[0].Syncs() {
			if r.Peer == pair[1].ID().String() && r.FinishedAt != nil && (first.IsZero() || r.FinishedAt.Before(first)) {
				first = *r.FinishedAt
			}
		}
	}
	return first
}

// syncCase names which messages the lacking node misses.
type syncCaseSpec struct {
	n      int
	spread string // "tail" or "random"
}

func syncCases(diffs []int, history int) []syncCaseSpec {
	var out []syncCaseSpec
	for _, n := range diffs {
		n = min(n, history)
		out = append(out, syncCaseSpec{n, "tail"})
		if n > 0 {
			out = append(out, syncCaseSpec{n, "random"})
		}
	}
	return out
}

// pick chooses the missing indexes among total messages.
func (c syncCaseSpec) pick(total int) map[int]bool {
	missing := map[int]bool{}
	if c.spread == "tail" {
		for i := total - c.n; i < total; i++ {
			missing[i] = true
		}
		return missing
	}
	rng := rand.New(rand.NewPCG(uint64(c.n), 7))
	for len(missing) < c.n {
		missing[rng.IntN(total)] = true
	}
	return missing
}

func running(n *node.Node, p peer.ID) int {
	c := 0
	for _, r := range n.Syncs() {
		if r.Peer == p.String() && r.State == "running" {
			c++
		}
	}
	return c
}

// streamCounter counts stream payload bytes per protocol exactly (the
// bandwidth counter's totals lag by up to a second).
type streamCounter struct {
	*metrics.BandwidthCounter
	sync atomic.Int64
	all  atomic.Int64
}

func (c *streamCounter) install(cfg *node.Config) {
	cfg.HostOptions = append(cfg.HostOptions, libp2p.BandwidthReporter(c))
}

func (c *streamCounter) count(n int64, p libp2pprotocol.ID) {
	c.all.Add(n)
	if p == protocol.SyncProtocol || p == protocol.SyncSketchProtocol || p == floorSyncProtocol {
		c.sync.Add(n)
	}
}

func (c *streamCounter) LogSentMessageStream(n int64, p libp2pprotocol.ID, id peer.ID) {
	c.count(n, p)
	c.BandwidthCounter.LogSentMessageStream(n, p, id)
}

func (c *streamCounter) LogRecvMessageStream(n int64, p libp2pprotocol.ID, id peer.ID) {
	c.count(n, p)
	c.BandwidthCounter.LogRecvMessageStream(n, p, id)
}

func (c *streamCounter) syncBytes() int64 { return c.sync.Load() }
