package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// The flood scenario's attackers run in a child process of their own at
// the lowest CPU priority. On a real network an attacker signs and
// encrypts its flood on its own machine; sharing this 2-core machine's
// CPU at equal priority with the honest nodes would charge the victims
// for the attacker's work. Everything the flood costs a victim (reading,
// decrypting and refusing it) still runs in the honest nodes' process.

// floodersArgs configure the flooders child.
type floodersArgs struct {
	Transport   string
	Room        string
	ValidRate   int // valid signed envelopes a second, one author
	GarbageRate int // garbage and forged envelopes a second
}

// floodersIDs are the peer IDs of the two attackers.
type floodersIDs struct {
	Flooder string
	Garbler string
}

// floodCounts are how many envelopes each attacker published.
type floodCounts struct {
	Valid   int
	Garbage int
}

// floodersChild holds a valid-envelope flooder and a garbage sender.
type floodersChild struct {
	args             floodersArgs
	flooder, garbler *floorMember

	// Set by "start", read by "stop"; the child protocol serves one
	// request at a time.
	stop   context.CancelFunc
	wg     sync.WaitGroup
	counts floodCounts
}

func init() { registerChild("flooders", startFloodersChild) }

func startFloodersChild(_ context.Context, raw json.RawMessage, _ *slog.Logger) (childHandler, error) {
	var a floodersArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("flooders args: %w", err)
	}
	if err := lowestPriority(); err != nil {
		return nil, err
	}
	f, err := newFloorMember(a.Transport, a.Room)
	if err != nil {
		return nil, err
	}
	g, err := newFloorMember(a.Transport, a.Room)
	if err != nil {
		f.close()
		return nil, err
	}
	return &floodersChild{args: a, flooder: f, garbler: g}, nil
}

func (c *floodersChild) close() error {
	if c.stop != nil {
		c.stop()
		c.wg.Wait()
	}
	c.garbler.close()
	return c.flooder.close()
}

func (c *floodersChild) handle(ctx context.Context, op string, data json.RawMessage) (any, error) {
	switch op {
	case "ids":
		return floodersIDs{Flooder: c.flooder.id().String(), Garbler: c.garbler.id().String()}, nil
	case "connect":
		var addrs []string
		if err := json.Unmarshal(data, &addrs); err != nil {
			return nil, err
		}
		for _, addr := range addrs {
			for _, f := range []*floorMember{c.flooder, c.garbler} {
				if err := f.connect(ctx, addr); err != nil {
					return nil, err
				}
			}
		}
		return nil, nil
	case "start":
		if c.stop != nil {
			return nil, fmt.Errorf("already flooding")
		}
		c.start()
		return nil, nil
	case "stop":
		if c.stop == nil {
			return nil, fmt.Errorf("not flooding")
		}
		c.stop()
		c.wg.Wait()
		c.stop = nil
		return c.counts, nil
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

// start floods from both attackers until stop.
func (c *floodersChild) start() {
	floodKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	garbageKey, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.counts.Valid = floodAt(ctx, c.flooder.topic, c.args.ValidRate, func(i int) []byte {
			return floodEnvelope(floodKey, i, false)
		})
	}()
	go func() {
		defer c.wg.Done()
		c.counts.Garbage = floodAt(ctx, c.garbler.topic, c.args.GarbageRate, func(i int) []byte {
			if i%2 == 0 {
				return fmt.Appendf(nil, "garbage %d", i)
			}
			return floodEnvelope(garbageKey, i, true)
		})
	}()
}
