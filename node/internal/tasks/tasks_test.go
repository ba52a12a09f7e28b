package tasks

import (
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWaitWaitsForEveryGoroutineAndStopEndsTheirContext(t *testing.T) {
	g := New()
	var ended atomic.Int32
	for range 3 {
		g.Go(func() {
			<-g.Context().Done()
			ended.Add(1)
		})
	}
	g.Stop()
	g.Wait()
	if got := ended.Load(); got != 3 {
		t.Fatalf("%d goroutines ended before Wait returned, want 3", got)
	}
}

func TestNoWorkStartsOnceStopped(t *testing.T) {
	g := New()
	g.Stop()
	ran := false
	if g.Go(func() { ran = true }) {
		t.Fatal("Go accepted work after Stop")
	}
	if g.Serve(func() { ran = true }) {
		t.Fatal("Serve accepted work after Stop")
	}
	g.Wait()
	if ran {
		t.Fatal("refused work ran")
	}
}

func TestServeReturnsOnlyWhenTheWorkIsDone(t *testing.T) {
	g := New()
	defer func() { g.Stop(); g.Wait() }()
	var done atomic.Bool
	g.Serve(func() {
		time.Sleep(10 * time.Millisecond) // work that takes a while
		done.Store(true)
	})
	if !done.Load() {
		t.Fatal("Serve returned before its work was done")
	}
}
