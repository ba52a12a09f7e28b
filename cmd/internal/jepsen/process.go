package jepsen

// A node process of the real peerchat binary, run without package testing:
// the suite and the bench start it alike, and a failure is an error for
// the caller to report, not a test's Fatal.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/peerchat/peerchat/cmd/internal/linelog"
)

const (
	// startTimeout bounds a node's start-up, from exec to the "API:" line.
	// Generous: the machine is shared and the race detector slows the
	// suite.
	startTimeout = 60 * time.Second
	// exitTimeout bounds how long a process takes to end after SIGKILL.
	exitTimeout = 30 * time.Second
)

// process is one running (or ended) peerchat process.
type process struct {
	name    string
	cmd     *exec.Cmd
	stdout  *linelog.Log
	stderr  *linelog.Log
	exited  chan struct{} // closed when the process has ended
	waitErr error         // set before exited is closed

	// Read from its output and data folder once it is up.
	apiAddr string
	peerID  string
	token   string
}

// startProcess runs binary with args and waits until it serves its API,
// then reads its peer ID from its output and its API token from dataDir.
// On any failure the process is killed and the error says what it
// printed.
func startProcess(ctx context.Context, name, binary string, args []string, dataDir string) (*process, error) {
	cmd := exec.Command(binary, args...)
	// Inherited PEERCHAT_ variables would override the flags the harness
	// relies on (ports, data folder).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PEERCHAT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	p := &process{name: name, cmd: cmd, stdout: linelog.New(), stderr: linelog.New(), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	// Output copying ends with the process; WaitDelay only guards against
	// a stray child holding the pipes.
	cmd.WaitDelay = 5 * time.Second
	// The nodes die with the harness even if it is killed itself, so a
	// cut-short bench leaves no node holding its ports.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitUp(ctx, dataDir); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// waitUp waits for the start-up lines and parses them.
func (p *process) waitUp(ctx context.Context, dataDir string) error {
	apiLine, err := p.waitLine(ctx, "API: http://", startTimeout)
	if err != nil {
		return err
	}
	p.apiAddr, _, _ = strings.Cut(strings.TrimPrefix(apiLine, "API: http://"), " ")
	lines, _ := p.stdout.Snapshot()
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "peer ID: "); ok {
			p.peerID = strings.TrimSpace(v)
		}
	}
	if p.peerID == "" || p.apiAddr == "" {
		return fmt.Errorf("%s: no peer ID or API address in its output:\n%s", p.name, p.stdout.Tail(20))
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, "api-token"))
	if err != nil {
		return fmt.Errorf("%s: read API token: %w", p.name, err)
	}
	p.token = strings.TrimSpace(string(tok))
	return nil
}

// errEnded is returned when a process ends before printing what the
// harness waits for.
var errEnded = errors.New("process ended")

// waitLine waits until stdout has a line starting with prefix and returns
// it, or fails when the process ends, the deadline passes or ctx ends.
func (p *process) waitLine(ctx context.Context, prefix string, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	find := func() (string, bool) {
		lines, _ := p.stdout.Snapshot()
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l, true
			}
		}
		return "", false
	}
	for {
		_, changed := p.stdout.Snapshot()
		if l, ok := find(); ok {
			return l, nil
		}
		select {
		case <-changed:
		case <-p.exited:
			// Output written just before the exit is complete now.
			if l, ok := find(); ok {
				return l, nil
			}
			return "", fmt.Errorf("%s: %w (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.name, errEnded, p.waitErr, prefix, p.stdout.Tail(20), p.stderr.Tail(20))
		case <-deadline.C:
			return "", fmt.Errorf("%s did not print %q within %v\nstdout:\n%s\nstderr:\n%s", p.name, prefix, timeout, p.stdout.Tail(20), p.stderr.Tail(20))
		case <-ctx.Done():
			return "", fmt.Errorf("%s: waiting for %q: %w", p.name, prefix, ctx.Err())
		}
	}
}

// kill sends SIGKILL, with no chance to shut down, and waits for the end.
// A process that outlives SIGKILL by exitTimeout is an error: the next
// start on its ports and data folder would fail in a confusing way.
func (p *process) kill() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(exitTimeout):
		return fmt.Errorf("%s did not end within %v of SIGKILL", p.name, exitTimeout)
	}
}
