// Package tasks runs the goroutines of one long-lived owner (the node) so
// that closing the owner waits for every one of them and none starts once
// closing has begun.
package tasks

import (
	"context"
	"sync"
)

// Group tracks goroutines. The zero value is not usable; use New.
type Group struct {
	ctx    context.Context // ends when Close starts
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool // guarded by mu: no new goroutines after Close
}

// New returns a group whose context ends when Close is called.
func New() *Group {
	g := &Group{}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

// Context ends when Close starts. Every goroutine of the group should
// return once it ends.
func (g *Group) Context() context.Context { return g.ctx }

// Go runs fn in a goroutine that Close waits for. It returns false, and
// runs nothing, once Close has begun: work that arrives during shutdown (a
// sync stream, a subscriber) is refused rather than racing the closing of
// what it uses.
func (g *Group) Go(fn func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn()
	}()
	return true
}

// Serve runs fn in the group and waits for it, for handlers whose own
// goroutine belongs to someone else (a libp2p stream handler): Close then
// waits for the work too. It returns false, running nothing, once Close
// has begun.
func (g *Group) Serve(fn func()) bool {
	done := make(chan struct{})
	if !g.Go(func() { defer close(done); fn() }) {
		return false
	}
	<-done
	return true
}

// Stop ends the group's context and refuses new goroutines, without
// waiting for the running ones.
func (g *Group) Stop() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
}

// Wait waits for every goroutine the group started.
func (g *Group) Wait() { g.wg.Wait() }
