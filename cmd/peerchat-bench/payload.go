package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A benchmark message's text carries what a receiver needs to time it,
// so no side channel is needed even across processes (all of them read
// the same wall clock): "b RUN IDX SENT_UNIX_NANOS" padded with dots to
// the requested size.
func payload(run string, idx int, sent time.Time, size int) string {
	s := fmt.Sprintf("b %s %d %d ", run, idx, sent.UnixNano())
	if len(s) < size {
		s += strings.Repeat(".", size-len(s))
	}
	return s
}

func parsePayload(text string) (run string, idx int, sent int64, ok bool) {
	f := strings.SplitN(text, " ", 5)
	if len(f) < 4 || f[0] != "b" {
		return "", 0, 0, false
	}
	i, err1 := strconv.Atoi(f[2])
	s, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return f[1], i, s, true
}

// recorder keeps when each member first saw each message of each run.
type recorder struct {
	mu   sync.Mutex
	seen []map[string]map[int]int64 // member -> run -> idx -> unix nanos
}

func newRecorder(members int) *recorder {
	r := &recorder{seen: make([]map[string]map[int]int64, members)}
	for i := range r.seen {
		r.seen[i] = map[string]map[int]int64{}
	}
	return r
}

// hook returns the receive callback of member i.
func (r *recorder) hook(i int) func(string) {
	return func(text string) {
		now := time.Now().UnixNano()
		run, idx, _, ok := parsePayload(text)
		if !ok {
			return
		}
		r.mu.Lock()
		m := r.seen[i][run]
		if m == nil {
			m = map[int]int64{}
			r.seen[i][run] = m
		}
		if _, dup := m[idx]; !dup {
			m[idx] = now
		}
		r.mu.Unlock()
	}
}

// has counts the members that saw message idx of run.
func (r *recorder) has(run string, idx int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.seen {
		if _, ok := s[run][idx]; ok {
			n++
		}
	}
	return n
}

// count counts every receipt of run.
func (r *recorder) count(run string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.seen {
		n += len(s[run])
	}
	return n
}

// received returns a copy of every member's receipts of run.
func (r *recorder) received(run string) []map[int]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]map[int]int64, len(r.seen))
	for i, s := range r.seen {
		out[i] = map[int]int64{}
		for k, v := range s[run] {
			out[i][k] = v
		}
	}
	return out
}

// publishAt sends count messages of run from m at a steady rate, open
// loop: each message is sent on schedule in its own goroutine whether or
// not earlier ones have returned, so a slow send shows up as latency
// instead of silently lowering the rate. At most maxInFlight sends run at
// once; it returns the send times by index.
func publishAt(ctx context.Context, m member, run string, first, count int, rate float64, size int) ([]int64, int, error) {
	const maxInFlight = 8192
	sent := make([]int64, count)
	sem := make(chan struct{}, maxInFlight)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		errOne error
	)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; i < count; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				wg.Wait()
				return sent, failed, ctx.Err()
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			now := time.Now()
			sent[i] = now.UnixNano()
			if err := m.publish(ctx, payload(run, first+i, now, size)); err != nil {
				mu.Lock()
				failed++
				errOne = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		return sent, failed, fmt.Errorf("%d of %d sends failed, e.g.: %w", failed, count, errOne)
	}
	return sent, 0, nil
}

// cpuSeconds is the user+system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
