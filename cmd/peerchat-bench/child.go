package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

// Child processes are this same binary started with PEERCHAT_BENCH_CHILD
// set to a role. They exist because one process may hold only 20,000 open
// files (a few hundred nodes with their stores and connections need more
// than one), and because the RSS of an idle node can only be read cleanly
// in a process that holds nothing else. A child reads one JSON request per
// line on stdin and answers each with one JSON line on stdout; it exits
// when stdin closes. Logs go to stderr.
const (
	childRoleEnv    = "PEERCHAT_BENCH_CHILD"
	childArgsEnv    = "PEERCHAT_BENCH_ARGS"
	childProfileEnv = "PEERCHAT_BENCH_CPUPROFILE"
)

type childRequest struct {
	Op   string          `json:"op"`
	Data json.RawMessage `json:"data,omitempty"`
}

type childReply struct {
	Err  string          `json:"err,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// childHandler serves one role's requests.
type childHandler interface {
	handle(ctx context.Context, op string, data json.RawMessage) (any, error)
	close() error
}

// childStart starts a role's handler from its JSON arguments.
type childStart func(ctx context.Context, args json.RawMessage, log *slog.Logger) (childHandler, error)

// childRoles are the roles a child process can take, by name. Each role's
// file registers its own from an init function, as scenarios do; only init
// functions write the map, so it needs no lock.
var childRoles = map[string]childStart{}

// registerChild makes start the role named role. It panics on a name
// registered twice, a programming error the first run must show.
func registerChild(role string, start childStart) {
	if _, dup := childRoles[role]; dup || role == "" || start == nil {
		panic(fmt.Sprintf("peerchat-bench: child role %q registered twice or without a start", role))
	}
	childRoles[role] = start
}

// runChild is a child process's main; it returns the exit code.
func runChild(role string) int {
	// Keep stdout for replies only: anything a library prints goes to
	// stderr instead.
	out := os.Stdout
	os.Stdout = os.Stderr
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if path := os.Getenv(childProfileEnv); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	start := childRoles[role]
	if start == nil {
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		return 2
	}
	ctx := context.Background()
	h, err := start(ctx, json.RawMessage(os.Getenv(childArgsEnv)), log)
	enc := json.NewEncoder(out)
	if err != nil {
		enc.Encode(childReply{Err: err.Error()})
		return 1
	}
	enc.Encode(childReply{})
	defer h.close()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var req childRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			enc.Encode(childReply{Err: fmt.Sprintf("bad request: %v", err)})
			continue
		}
		res, err := h.handle(ctx, req.Op, req.Data)
		var rep childReply
		if err != nil {
			rep.Err = err.Error()
		} else if res != nil {
			rep.Data, err = json.Marshal(res)
			if err != nil {
				rep.Err = err.Error()
			}
		}
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	}
	return 0
}

// child is the parent's handle on one child process.
type child struct {
	cmd   *exec.Cmd
	name  string
	in    io.WriteCloser
	out   *bufio.Scanner
	mu    sync.Mutex
	ended chan struct{}
}

// startChild starts a child in role with args and waits for it to report
// that it started. Its stderr is passed through when verbose.
func startChild(ctx context.Context, o *options, name, role string, args any) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own binary: %w", err)
	}
	a, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encode child args: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, childArgsEnv+"="+string(a))
	if o.CPUProfile != "" {
		cmd.Env = append(cmd.Env, childProfileEnv+"="+o.CPUProfile+"."+name)
	}
	if o.Verbose {
		cmd.Stderr = os.Stderr
	}
	// Children die with the parent even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("child stdin: %w", err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("child stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child %s: %w", name, err)
	}
	c := &child{cmd: cmd, name: name, in: in, out: bufio.NewScanner(outPipe), ended: make(chan struct{})}
	c.out.Buffer(make([]byte, 1<<20), 256<<20)
	go func() { cmd.Wait(); close(c.ended) }()
	if err := c.read(ctx, nil); err != nil {
		c.kill()
		return nil, fmt.Errorf("child %s did not start: %w", name, err)
	}
	return c, nil
}

// call sends one request and decodes the reply into out (which may be
// nil). If ctx ends first the child is killed: its state is unknown.
func (c *child) call(ctx context.Context, op string, data, out any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := childRequest{Op: op}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("encode %s: %w", op, err)
		}
		req.Data = b
	}
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := c.in.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("child %s: send %s: %w", c.name, op, err)
	}
	if err := c.read(ctx, out); err != nil {
		return fmt.Errorf("child %s: %s: %w", c.name, op, err)
	}
	return nil
}

func (c *child) read(ctx context.Context, out any) error {
	got := make(chan error, 1)
	var rep childReply
	go func() {
		if !c.out.Scan() {
			err := c.out.Err()
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			got <- fmt.Errorf("child exited: %w", err)
			return
		}
		got <- json.Unmarshal(c.out.Bytes(), &rep)
	}()
	select {
	case err := <-got:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		c.kill()
		return ctx.Err()
	}
	if rep.Err != "" {
		return errors.New(rep.Err)
	}
	if out != nil && rep.Data != nil {
		return json.Unmarshal(rep.Data, out)
	}
	return nil
}

// stop closes the child's stdin, which makes it close its nodes and exit,
// and kills it if it has not exited within timeout.
func (c *child) stop(timeout time.Duration) {
	c.in.Close()
	select {
	case <-c.ended:
	case <-time.After(timeout):
		c.kill()
	}
}

func (c *child) kill() {
	if c.cmd.Process != nil {
		c.cmd.Process.Kill()
	}
	<-c.ended
}

// eachChild runs fn on every child at once and returns the first error.
func eachChild(cs []*child, fn func(i int, c *child) error) error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn(i, c) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}
