// Package linelog collects what a child process writes, line by line, so
// that a test or a harness can wait for a line without polling.
package linelog

import (
	"bytes"
	"strings"
	"sync"
)

// Log is an io.Writer that keeps every complete line written to it. Its
// methods are safe for concurrent use; the zero value is not usable, use
// New.
type Log struct {
	mu      sync.Mutex
	lines   []string      // guarded by mu
	partial []byte        // guarded by mu: the line being written
	changed chan struct{} // guarded by mu: closed and replaced on every new line
}

// New returns an empty log.
func New() *Log { return &Log{changed: make(chan struct{})} }

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	grew := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		grew = true
	}
	if grew {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// Snapshot returns the complete lines so far and a channel closed when
// another arrives.
func (l *Log) Snapshot() ([]string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...), l.changed
}

// Tail returns the last n lines and the line being written, for an error
// message: a process that failed says why at the end, and the whole log
// would drown it.
func (l *Log) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return join(l.lines[max(0, len(l.lines)-n):], l.partial)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return join(l.lines, l.partial)
}

// join writes lines and the partial one after them, one a line.
func join(lines []string, partial []byte) string {
	if len(partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(partial))
	}
	return strings.Join(lines, "\n")
}
