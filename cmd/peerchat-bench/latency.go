package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func init() {
	register(scenario{
		name:    "latency",
		rank:    10,
		summary: "API to API latency between two nodes, every message fsync'd, against a bare gossipsub publish",
		flags: func(fs *flag.FlagSet) runFunc {
			lo := &latencyOptions{}
			fs.IntVar(&lo.Messages, "messages", 2000, "latency: messages sent")
			fs.Float64Var(&lo.Rate, "rate", 200, "latency: messages per second")
			return func(ctx context.Context, o *options) (*Report, error) {
				lo.options = o
				return runLatency(ctx, lo)
			}
		},
		smallest: []string{"--messages", "20", "--rate", "50"},
	})
}

// latencyOptions are latency's flags. Flood sends with them too (see
// latencyOptionsOf), so they are the one load knob of both.
type latencyOptions struct {
	*options
	Messages int
	Rate     float64
}

// latencyOptionsOf reads latency's flags back from fs once it is parsed,
// for a scenario that shares them: flag names are unique in a flag set, so
// a second scenario cannot define them again. It panics if latency is not
// registered, which the first run of the sharing scenario shows.
func latencyOptionsOf(o *options, fs *flag.FlagSet) latencyOptions {
	get := func(name string) any { return fs.Lookup(name).Value.(flag.Getter).Get() }
	return latencyOptions{options: o, Messages: get("messages").(int), Rate: get("rate").(float64)}
}

// runLatency measures API to API: a POST on one node's HTTP API until the
// event arrives on the other node's WebSocket, with every message fsync'd
// before the POST is answered. The floor is one gossipsub publish until
// the other host's subscription hands the message over.
func runLatency(ctx context.Context, o *latencyOptions) (*Report, error) {
	rep := newReport("latency")
	rep.Params["messages"] = o.Messages
	rep.Params["rate"] = o.Rate
	rep.Params["size"] = o.Size
	rep.Params["transport"] = o.Transport

	floor, err := latencyFloor(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	pc, err := latencyPeerchat(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("peerchat: %w", err)
	}
	rep.addVs("p50", "ms", pc.lat.P50, floor.lat.P50).maxRatio(1.5)
	rep.addVs("p99", "ms", pc.lat.P99, floor.lat.P99).maxRatio(2)
	rep.addVs("max", "ms", pc.lat.Max, floor.lat.Max)
	rep.addVs("delivered", "%", 100*pc.delivered, 100*floor.delivered).judge("100 %", pc.delivered == 1)
	rep.add("POST answered (after fsync) p50", "ms", pc.post.P50)
	rep.add("POST answered (after fsync) p99", "ms", pc.post.P99)
	rep.addVs("CPU per 1,000 messages", "s", pc.cpuPerK, floor.cpuPerK)
	rep.note("peerchat: POST /v1/rooms/bench/messages on node A -> event on node B's /v1/events/ws; floor: topic.Publish -> Subscription.Next")
	return rep, nil
}

type latencyResult struct {
	lat, post Dist
	delivered float64
	cpuPerK   float64
}

func latencyFloor(ctx context.Context, o *latencyOptions) (*latencyResult, error) {
	g, err := startGroup(ctx, membersArgs{Kind: "floor", Transport: o.Transport, Room: "bench", Count: 2}, o.log)
	if err != nil {
		return nil, err
	}
	defer g.close()
	a, b := g.members[0], g.members[1]
	if err := b.connect(ctx, a.addrs()[0]); err != nil {
		return nil, err
	}
	send := func(ctx context.Context, text string) error { return a.publish(ctx, text) }
	return measureLatency(ctx, o, g.rec, 1, send)
}

func latencyPeerchat(ctx context.Context, o *latencyOptions) (*latencyResult, error) {
	p, err := startPeerchatPath(ctx, o.options, "latency")
	if err != nil {
		return nil, err
	}
	defer p.close()
	var (
		mu    sync.Mutex
		posts []time.Duration
	)
	send := func(ctx context.Context, text string) error {
		t := time.Now()
		err := p.send(ctx, text)
		d := time.Since(t)
		mu.Lock()
		posts = append(posts, d)
		mu.Unlock()
		return err
	}
	res, err := measureLatency(ctx, o, p.rec, 1, send)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	res.post = distOf(posts)
	mu.Unlock()
	return res, nil
}

// measureLatency warms up until a message gets through, then sends
// o.Messages at o.Rate with send and waits for every one to be seen by
// rec's receivers.
func measureLatency(ctx context.Context, o *latencyOptions, rec *recorder, receivers int, send func(context.Context, string) error) (*latencyResult, error) {
	sender := funcMember{send: send}
	warm := 0
	if err := waitUntil(ctx, time.Minute, "a warm-up message to get through", func() bool {
		if warm > 0 && rec.has("w", warm-1) == receivers {
			return true
		}
		if _, _, err := publishAt(ctx, sender, "w", warm, 1, 1, o.Size); err != nil {
			return false
		}
		warm++
		return waitUntil(ctx, time.Second, "warm-up", func() bool { return rec.has("w", warm-1) == receivers }) == nil
	}); err != nil {
		return nil, err
	}
	cpu0 := cpuSeconds()
	sent, _, err := publishAt(ctx, sender, "m", 0, o.Messages, o.Rate, o.Size)
	if err != nil {
		return nil, err
	}
	want := o.Messages * receivers
	_ = waitUntil(ctx, 10*time.Second, "every message", func() bool { return rec.count("m") >= want })
	cpu1 := cpuSeconds()
	var lats []time.Duration
	for _, m := range rec.received("m") {
		for idx, at := range m {
			lats = append(lats, time.Duration(at-sent[idx]))
		}
	}
	return &latencyResult{
		lat:       distOf(lats),
		delivered: float64(len(lats)) / float64(want),
		cpuPerK:   (cpu1 - cpu0) / float64(o.Messages) * 1000,
	}, nil
}

// funcMember adapts a send function to the member interface publishAt
// drives; only publish is used.
type funcMember struct {
	member
	send func(context.Context, string) error
}

func (f funcMember) publish(ctx context.Context, text string) error { return f.send(ctx, text) }

// postMessage sends a message through the HTTP API, as a UI does.
func postMessage(ctx context.Context, c *http.Client, s *apiServer, room, text string) error {
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.addr+"/v1/rooms/"+room+"/messages", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("POST message: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST message: %s: %s", resp.Status, b)
	}
	return nil
}

// dialEvents opens the event WebSocket of s from since.
func dialEvents(ctx context.Context, s *apiServer, since uint64) (*websocket.Conn, error) {
	url := "ws://" + s.addr + "/v1/events/ws?since=" + strconv.FormatUint(since, 10)
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.token}}})
	if err != nil {
		return nil, fmt.Errorf("dial event WebSocket: %w", err)
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// readMessageTexts calls fn with the text of every message event on ws.
func readMessageTexts(ctx context.Context, ws *websocket.Conn, fn func(string)) {
	defer ws.CloseNow()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var ev struct {
			Type    string `json:"type"`
			Message *struct {
				Text string `json:"text"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &ev) == nil && ev.Type == "message" && ev.Message != nil {
			fn(ev.Message.Text)
		}
	}
}
