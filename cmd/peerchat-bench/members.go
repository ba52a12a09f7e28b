package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/peerchat/peerchat/node"
)

// membersArgs start a child (or an in-process group) hosting Count
// members of one room: peerchat nodes or floor hosts.
type membersArgs struct {
	Kind      string `json:"kind"` // "peerchat" or "floor"
	Transport string `json:"transport"`
	Room      string `json:"room"`
	Count     int    `json:"count"`
	Dir       string `json:"dir"`
}

// group is a set of members with one recorder; a "members" child serves
// one, and in-process scenarios use one directly.
type group struct {
	members []member
	rec     *recorder
	kinds   *kindCounter // envelopes validated, all peerchat members together
}

func startGroup(ctx context.Context, a membersArgs, log *slog.Logger) (*group, error) {
	g := &group{rec: newRecorder(a.Count), kinds: newKindCounter()}
	for i := 0; i < a.Count; i++ {
		var (
			m   member
			err error
		)
		switch a.Kind {
		case "floor":
			m, err = newFloorMember(a.Transport, a.Room)
		case "peerchat":
			dir := filepath.Join(a.Dir, fmt.Sprintf("node%03d", i))
			m, err = newNodeMember(ctx, dir, nodeOptions{Transport: a.Transport, Rooms: []string{a.Room}, Logger: log,
				Extra: func(c *node.Config) { c.PubSubOptions = append(c.PubSubOptions, pubsub.WithRawTracer(g.kinds)) }})
		default:
			err = fmt.Errorf("unknown member kind %q", a.Kind)
		}
		if err != nil {
			g.close()
			return nil, err
		}
		m.receive(g.rec.hook(i))
		g.members = append(g.members, m)
	}
	return g, nil
}

func (g *group) close() error {
	errs := make([]error, len(g.members))
	var wg sync.WaitGroup
	for i, m := range g.members {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = m.close() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (g *group) addrs() [][]string {
	out := make([][]string, len(g.members))
	for i, m := range g.members {
		out[i] = m.addrs()
	}
	return out
}

// connect dials, for each local member, the addresses given for it.
func (g *group) connect(ctx context.Context, targets map[int][]string) error {
	errs := make([]error, len(g.members))
	var wg sync.WaitGroup
	for i, addrs := range targets {
		if i < 0 || i >= len(g.members) {
			return fmt.Errorf("no member %d", i)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, a := range addrs {
				// Three tries: a busy listener may time a handshake out.
				var err error
				for try := 0; try < 3; try++ {
					cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					err = g.members[i].connect(cctx, a)
					cancel()
					if err == nil {
						break
					}
				}
				errs[i] = errors.Join(errs[i], err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// groupStatus summarises how connected a group's members are.
type groupStatus struct {
	MinTopicPeers int `json:"min_topic_peers"`
	MaxTopicPeers int `json:"max_topic_peers"`
	Conns         int `json:"conns"`
	Goroutines    int `json:"goroutines"`
}

func (g *group) status() groupStatus {
	s := groupStatus{MinTopicPeers: 1 << 30}
	for _, m := range g.members {
		p := m.topicPeers()
		s.MinTopicPeers = min(s.MinTopicPeers, p)
		s.MaxTopicPeers = max(s.MaxTopicPeers, p)
		s.Conns += m.connections()
	}
	return s
}

type publishReq struct {
	Member int     `json:"member"`
	Run    string  `json:"run"`
	First  int     `json:"first"`
	Count  int     `json:"count"`
	Rate   float64 `json:"rate"`
	Size   int     `json:"size"`
}

type publishRes struct {
	Sent   []int64 `json:"sent"`
	Failed int     `json:"failed"`
}

func (g *group) publish(ctx context.Context, r publishReq) (publishRes, error) {
	if r.Member < 0 || r.Member >= len(g.members) {
		return publishRes{}, fmt.Errorf("no member %d", r.Member)
	}
	sent, failed, err := publishAt(ctx, g.members[r.Member], r.Run, r.First, r.Count, r.Rate, r.Size)
	if err != nil && failed == 0 {
		return publishRes{}, err
	}
	return publishRes{Sent: sent, Failed: failed}, nil
}

type runReq struct {
	Run string `json:"run"`
	Idx int    `json:"idx"`
}

// membersChild serves a group over the child protocol.
type membersChild struct{ g *group }

func init() { registerChild("members", startMembersChild) }

func startMembersChild(ctx context.Context, raw json.RawMessage, log *slog.Logger) (childHandler, error) {
	var a membersArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("members args: %w", err)
	}
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return nil, err
	}
	g, err := startGroup(ctx, a, log)
	if err != nil {
		return nil, err
	}
	return &membersChild{g: g}, nil
}

func (c *membersChild) close() error { return c.g.close() }

func (c *membersChild) handle(ctx context.Context, op string, data json.RawMessage) (any, error) {
	switch op {
	case "addrs":
		return c.g.addrs(), nil
	case "connect":
		var targets map[int][]string
		if err := json.Unmarshal(data, &targets); err != nil {
			return nil, err
		}
		return nil, c.g.connect(ctx, targets)
	case "status":
		s := c.g.status()
		return s, nil
	case "publish":
		var r publishReq
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, err
		}
		return c.g.publish(ctx, r)
	case "seen":
		var r runReq
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, err
		}
		return c.g.rec.has(r.Run, r.Idx), nil
	case "count":
		var r runReq
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, err
		}
		return c.g.rec.count(r.Run), nil
	case "received":
		var r runReq
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, err
		}
		return c.g.rec.received(r.Run), nil
	case "cpu":
		return cpuSeconds(), nil
	case "kinds":
		return c.g.kinds.snapshot(), nil
	}
	return nil, fmt.Errorf("unknown op %q", op)
}
