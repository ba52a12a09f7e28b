package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/protocol"
)

func init() {
	register(scenario{
		name:    "flood",
		rank:    70,
		summary: "honest latency while hostile peers flood a room with valid and with garbage envelopes",
		// Flood's honest traffic is latency's --messages at latency's
		// --rate, capped under the default rate limit: it has no flags of
		// its own and reads latency's once they are parsed.
		flags: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, o *options) (*Report, error) {
				return runFlood(ctx, latencyOptionsOf(o, fs))
			}
		},
		smallest: []string{"--messages", "20", "--rate", "50"},
	})
}

// Flood rates: the 2,000 valid envelopes a second from one
// flooder, and garbage from another.
const (
	floodValidRate   = 2000
	floodGarbageRate = 500
	floodNodes       = 4 // honest nodes in the room
)

// runFlood measures honest delivery latency between two honest nodes of a
// room, first calm and then while one peer floods the room with valid
// signed envelopes and another with garbage. The calm run is the floor:
// under the flood, p99 must stay within 2x of it. Nodes run with the
// default rate limit, as users run them.
func runFlood(ctx context.Context, lo latencyOptions) (*Report, error) {
	o := lo.options
	rep := newReport("flood")
	rep.Params["nodes"] = floodNodes
	rep.Params["flood_rate"] = floodValidRate
	rep.Params["garbage_rate"] = floodGarbageRate
	rep.Params["transport"] = o.Transport

	var (
		scoreMu sync.Mutex
		scores  = map[peer.ID]float64{}
	)
	inspect := func(s map[peer.ID]float64) {
		scoreMu.Lock()
		defer scoreMu.Unlock()
		for p, v := range s {
			scores[p] = v
		}
	}
	nodes := make([]*nodeMember, floodNodes)
	for i := range nodes {
		dir, err := tempDir(o.WorkDir, fmt.Sprintf("flood%d-", i))
		if err != nil {
			return nil, err
		}
		opts := nodeOptions{Transport: o.Transport, Rooms: []string{"bench"}, Logger: o.log}
		opts.Extra = func(c *node.Config) {
			c.RateLimit = node.RateLimit{} // the default, not the bench's unlimited one
			if i == 1 {
				c.PubSubOptions = append(c.PubSubOptions, pubsub.WithPeerScoreInspect(inspect, 200*time.Millisecond))
			}
		}
		for _, prev := range nodes[:i] {
			opts.Bootstrap = append(opts.Bootstrap, prev.addrs()[0])
		}
		if nodes[i], err = newNodeMember(ctx, dir, opts); err != nil {
			return nil, err
		}
		defer nodes[i].close()
	}
	a, b := nodes[0], nodes[1]
	if err := waitUntil(ctx, 30*time.Second, "the nodes to meet in the room", func() bool {
		for _, n := range nodes {
			if n.topicPeers() < floodNodes-1 {
				return false
			}
		}
		return true
	}); err != nil {
		return nil, err
	}
	// Honest traffic stays under the default rate limit of 50/s per author.
	ho := lo
	ho.Rate = min(lo.Rate, 40)
	ho.Messages = min(lo.Messages, 400)
	rep.Params["rate"] = ho.Rate
	rep.Params["messages"] = ho.Messages
	calmRec, floodRec := newRecorder(1), newRecorder(1)
	b.receive(calmRec.hook(0))
	send := func(ctx context.Context, text string) error { return a.publish(ctx, text) }

	calm, err := measureLatency(ctx, &ho, calmRec, 1, send)
	if err != nil {
		return nil, fmt.Errorf("calm: %w", err)
	}
	runtime.GC()
	before := readMem()

	// The flooders: bare gossipsub hosts with peerchat's settings, each
	// connected to every honest node, in a child process at the lowest
	// priority (see flooders.go).
	attackers, err := startChild(ctx, o, "flooders", "flooders", floodersArgs{Transport: o.Transport, Room: "bench", ValidRate: floodValidRate, GarbageRate: floodGarbageRate})
	if err != nil {
		return nil, err
	}
	defer attackers.stop(30 * time.Second)
	var ids floodersIDs
	if err := attackers.call(ctx, "ids", nil, &ids); err != nil {
		return nil, err
	}
	var honestAddrs []string
	for _, n := range nodes {
		honestAddrs = append(honestAddrs, n.addrs()[0])
	}
	if err := attackers.call(ctx, "connect", honestAddrs, nil); err != nil {
		return nil, err
	}
	if err := waitUntil(ctx, 30*time.Second, "the flooders in the room", func() bool {
		return b.topicPeers() >= floodNodes+1
	}); err != nil {
		return nil, err
	}
	if err := attackers.call(ctx, "start", nil, nil); err != nil {
		return nil, err
	}
	floodStart := time.Now()
	b.receive(floodRec.hook(0))
	flood, err := measureLatency(ctx, &ho, floodRec, 1, send)
	var sent floodCounts
	if stopErr := attackers.call(ctx, "stop", nil, &sent); stopErr != nil && err == nil {
		err = stopErr
	}
	floodSecs := time.Since(floodStart).Seconds()
	if err != nil {
		return nil, fmt.Errorf("under flood: %w", err)
	}
	runtime.GC()
	after := readMem()
	flooderID, _ := peer.Decode(ids.Flooder)
	garblerID, _ := peer.Decode(ids.Garbler)
	// Give the score inspector one more round before reading it.
	_ = waitUntil(ctx, 2*time.Second, "scores", func() bool {
		scoreMu.Lock()
		defer scoreMu.Unlock()
		_, gok := scores[garblerID]
		_, fok := scores[flooderID]
		return gok && fok
	})
	scoreMu.Lock()
	garblerScore, flooderScore := scores[garblerID], scores[flooderID]
	scoreMu.Unlock()

	rep.addVs("p50", "ms", flood.lat.P50, calm.lat.P50)
	rep.addVs("p99", "ms", flood.lat.P99, calm.lat.P99).maxRatio(2)
	rep.addVs("max", "ms", flood.lat.Max, calm.lat.Max)
	rep.addVs("delivered", "%", 100*flood.delivered, 100*calm.delivered).judge("100 %", flood.delivered == 1)
	rep.add("valid flood sent", "msg/s", float64(sent.Valid)/floodSecs)
	rep.add("garbage sent", "msg/s", float64(sent.Garbage)/floodSecs)
	rep.add("garbage sender's score at node B", "", garblerScore).judge(fmt.Sprintf("< %d (graylisted)", floodGraylist), garblerScore < floodGraylist)
	rep.add("valid flooder's score at node B", "", flooderScore).judge(fmt.Sprintf("< %d (graylisted)", floodGraylist), flooderScore < floodGraylist)
	rep.addVs("process RSS", "MiB", float64(after.RSSKB)/1024, float64(before.RSSKB)/1024)
	rep.addVs("process heap in use", "MiB", float64(after.HeapKB)/1024, float64(before.HeapKB)/1024)
	rep.note("floor = the same honest nodes calm; latency is node A's Send -> node B's event log; %d honest nodes with the default rate limit (50/s, burst 200)", floodNodes)
	rep.note("RSS and heap are of the honest nodes' process (all %d honest nodes), after a GC, before and after the flood", floodNodes)
	rep.note("the flooders run in a child process at nice 19, as an attacker's own machine would: the victims pay for receiving, decrypting and refusing the flood, not for signing and encrypting it")
	return rep, nil
}

// floodGraylist is node/gossipscore.go's graylist threshold.
const floodGraylist = -80

// floodEnvelope is a valid signed message envelope in room bench, or with
// broken set one whose signature does not verify.
func floodEnvelope(key crypto.PrivKey, i int, broken bool) []byte {
	env := &protocol.Envelope{Kind: protocol.KindMessage, Room: "bench", Lamport: uint64(i + 1), SentAt: time.Now(), Body: fmt.Appendf(nil, `{"text":"flood %d"}`, i)}
	if err := env.Sign(key); err != nil {
		return nil
	}
	data := env.Bytes()
	if broken {
		data[len(data)-1] ^= 0xff
	}
	return data
}

// floodAt publishes next(i) on topic at about perSecond, in 10 ms ticks,
// until ctx ends, and returns how many it published.
func floodAt(ctx context.Context, topic *pubsub.Topic, perSecond int, next func(i int) []byte) int {
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
			if topic.Publish(ctx, next(i)) != nil {
				return i
			}
			i++
		}
	}
}
