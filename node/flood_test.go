package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/gossip"
	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/protocol"
)

// scoreWatch records the gossipsub scores a node sees and which peers it
// grafted into and pruned from its meshes. It reaches the node through the
// exported Config.PubSubOptions, so production code has no test hook.
type scoreWatch struct {
	gossip.NopTracer // the methods below override what we watch

	mu     sync.Mutex
	scores map[peer.ID]float64
	inMesh map[peer.ID]bool
	pruned map[peer.ID]int
}

func newScoreWatch() *scoreWatch {
	return &scoreWatch{scores: map[peer.ID]float64{}, inMesh: map[peer.ID]bool{}, pruned: map[peer.ID]int{}}
}

func (w *scoreWatch) options(c *Config) {
	c.PubSubOptions = append(c.PubSubOptions,
		pubsub.WithPeerScoreInspect(w.inspect, 100*time.Millisecond),
		pubsub.WithRawTracer(w))
}

func (w *scoreWatch) inspect(s map[peer.ID]float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, v := range s {
		w.scores[p] = v
	}
}

func (w *scoreWatch) score(p peer.ID) (float64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.scores[p]
	return v, ok
}

func (w *scoreWatch) meshHas(p peer.ID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inMesh[p]
}

func (w *scoreWatch) Graft(p peer.ID, _ string) {
	w.mu.Lock()
	w.inMesh[p] = true
	w.mu.Unlock()
}

func (w *scoreWatch) Prune(p peer.ID, _ string) {
	w.mu.Lock()
	w.inMesh[p] = false
	w.pruned[p]++
	w.mu.Unlock()
}

// hostilePeer is a bare libp2p host in a room's topic, speaking gossipsub
// with peerchat's settings, connected to the given nodes.
func hostilePeer(t *testing.T, ctx context.Context, room string, to ...*Node) (crypto.PrivKey, peer.ID, *pubsub.Topic) {
	t.Helper()
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	h, err := bareHost(key, []string{"/ip4/127.0.0.1/tcp/0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ps, err := gossip.New(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(protocol.Topic(room))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topic.Subscribe(); err != nil {
		t.Fatal(err)
	}
	for _, n := range to {
		if err := h.Connect(ctx, peerInfo(n)); err != nil {
			t.Fatal(err)
		}
	}
	return key, h.ID(), topic
}

// publishAt publishes make(i) on topic at about perSecond until ctx ends,
// and returns how many it published.
// publishAt publishes make(i) at perSecond until ctx ends or, when limit
// is positive, limit envelopes are out.
func publishAt(ctx context.Context, topic *pubsub.Topic, perSecond, limit int, make func(i int) []byte) int {
	const tick = 10 * time.Millisecond
	per := perSecond * int(tick) / int(time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	i := 0
	for {
		select {
		case <-ctx.Done():
			return i
		case <-t.C:
		}
		for range per {
			if limit > 0 && i == limit {
				return i
			}
			if topic.Publish(ctx, make(i)) != nil {
				return i
			}
			i++
		}
	}
}

func TestFloodersAreScoredDownAndHonestMessagesStillArrive(t *testing.T) {
	const room = "besieged"
	limit := RateLimit{PerSecond: 50, Burst: 200}
	withLimit := func(c *Config) { c.RateLimit = limit }
	watch := newScoreWatch()
	a := testNode(t, "", withLimit, watch.options)
	b := testNode(t, "", withLimit, bootstrapFrom(a))
	c := testNode(t, "", withLimit, bootstrapFrom(a, b))
	honest := []*Node{a, b, c}
	mustJoin(t, room, honest...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	floodKey, flooder, floodTopic := hostilePeer(t, ctx, room, honest...)
	_, garbler, garbageTopic := hostilePeer(t, ctx, room, a)
	for _, n := range honest {
		want := 3
		if n == a {
			want = 4
		}
		waitFor(t, 15*time.Second, "every peer in the topic", func() bool { return roomPeers(n, room) == want })
	}

	// The valid flood: 2,000 signed envelopes a second from one author.
	// The garbage flood: malformed bytes and envelopes with a broken
	// signature, alternately.
	// The valid envelopes are signed beforehand, so that the flood's rate
	// does not depend on how fast this machine signs under -race.
	const floodRate, floodFor = 2000, 3 * time.Second
	valid := make([][]byte, floodRate*int(floodFor/time.Second))
	var signers sync.WaitGroup
	for w := range 4 {
		signers.Go(func() {
			for i := w; i < len(valid); i += 4 {
				valid[i] = signed(t, floodKey, room, func(e *protocol.Envelope) { e.Lamport = uint64(i + 1) })
			}
		})
	}
	signers.Wait()
	floodCtx, stopFlood := context.WithTimeout(ctx, floodFor)
	defer stopFlood()
	garbageKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	start := time.Now()
	var wg sync.WaitGroup
	var floods, garbage int
	wg.Add(2)
	go func() {
		defer wg.Done()
		// The whole flood goes out, however long a loaded machine takes:
		// what is tested is what the flood does, not how fast we make it.
		floods = publishAt(ctx, floodTopic, floodRate, len(valid), func(i int) []byte { return valid[i] })
		stopFlood()
	}()
	go func() {
		defer wg.Done()
		garbage = publishAt(floodCtx, garbageTopic, 500, 0, func(i int) []byte {
			if i%2 == 0 {
				return fmt.Appendf(nil, "garbage %d", i)
			}
			env := signed(t, garbageKey, room, func(e *protocol.Envelope) { e.Lamport = uint64(i) })
			env[len(env)-1] ^= 0xff
			return env
		})
	}()

	// Honest messages sent while the floods run.
	var sent []string
	for i := range 3 {
		for _, n := range honest {
			sent = append(sent, mustSend(t, n, room, fmt.Sprintf("honest %d from %s", i, n.ID())).ID)
		}
		time.Sleep(200 * time.Millisecond) // pacing of the senders, not a wait for a result
	}
	wg.Wait()
	t.Logf("flooder published %d valid envelopes, garbler %d garbage ones, in %s", floods, garbage, time.Since(start).Round(time.Millisecond))

	for _, n := range honest {
		waitFor(t, 15*time.Second, "every honest message at every honest node", func() bool {
			have := map[string]bool{}
			for _, id := range historyIDs(t, n, room) {
				have[id] = true
			}
			for _, id := range sent {
				if !have[id] {
					return false
				}
			}
			return true
		})
	}

	waitFor(t, 10*time.Second, "the garbler's score below the graylist threshold", func() bool {
		s, ok := watch.score(garbler)
		return ok && s < abuse.GraylistThreshold
	})
	waitFor(t, 5*time.Second, "the garbler out of the mesh", func() bool { return !watch.meshHas(garbler) })
	waitFor(t, 10*time.Second, "the valid flooder's score below the graylist threshold", func() bool {
		s, ok := watch.score(flooder)
		return ok && s < abuse.GraylistThreshold
	})
	waitFor(t, 5*time.Second, "the valid flooder out of the mesh", func() bool { return !watch.meshHas(flooder) })
	// The honest nodes forwarded the flooder's admitted envelopes to a,
	// many after a's own bucket for the flooder ran dry: they must not be
	// punished for that.
	for _, n := range []*Node{b, c} {
		if s, ok := watch.score(n.ID()); !ok || s < 0 {
			t.Errorf("honest forwarder %s has score %.1f (known %v) at a, want ≥ 0", n.ID(), s, ok)
		}
	}
	counts := map[string]float64{}
	for _, r := range []string{"signature", "wrong_room", "future", "malformed", "kind", "version", "too_large", "rate_limited"} {
		counts[r] = rejected(t, a, r)
	}
	t.Logf("rejections at the garbler's neighbour: %v", counts)
	if counts["signature"] < 1 {
		t.Error("no bad signature counted")
	}
	if counts["malformed"]+counts["version"]+counts["kind"] < 1 {
		t.Error("no undecodable envelope counted")
	}
	if counts["rate_limited"] < 1 {
		t.Error("no rate-limited envelope counted")
	}

	// Memory stays bounded: of the flood, a node keeps at most what the
	// rate limit lets through.
	elapsed := time.Since(start).Seconds()
	bound := limit.Burst + int(limit.PerSecond*elapsed) + 10
	for _, n := range honest {
		stored := len(historyIDs(t, n, room)) - len(sent)
		if stored > bound {
			t.Errorf("%s stores %d of the flooder's %d envelopes, want at most %d", n.ID(), stored, floods, bound)
		}
	}
}
