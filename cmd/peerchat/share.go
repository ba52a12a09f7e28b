package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/peerchat/peerchat/node"
)

// shareWait bounds how long start-up waits for a relay reservation before
// saying that there is no address to share yet.
const shareWait = 30 * time.Second

// printShareAddr prints, once, the relayed address others can give as
// --bootstrap to reach this node behind its NAT: a reservation takes a
// moment, so it is printed when the first one exists, or a line says that
// none came within shareWait (GET /v1/node shows it later). stop ends the
// wait and returns once nothing more is printed.
func printShareAddr(ctx context.Context, n *node.Node, stdout io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(shareWait)
		for {
			if r := n.RelayedAddrs(); len(r) > 0 {
				fmt.Fprintf(stdout, "share this address: %s\n", r[0])
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-deadline:
				fmt.Fprintf(stdout, "no relay reservation yet: no address to share (GET /v1/node shows it once there is one)\n")
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// lockedWriter serialises writes from start-up and printShareAddr's
// goroutine to one stdout.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
