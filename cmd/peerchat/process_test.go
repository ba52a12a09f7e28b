package main

// Helpers that run the real peerchat binary as child processes: TestMain
// builds it once, startProc runs it and reads what it prints, and the
// proc's HTTP helpers talk to its API with the token from its data folder.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/peerchat/peerchat/cmd/internal/linelog"
)

// peerchatBin is the binary built by TestMain.
var peerchatBin string

const (
	// startTimeout bounds a node's start-up, from exec to the "API:" line.
	// Generous: the machine is shared and the race detector slows the test.
	startTimeout = 60 * time.Second
	// exitTimeout bounds how long a process that should end takes to end.
	exitTimeout = 30 * time.Second
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "peerchat-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	peerchatBin = filepath.Join(dir, "peerchat")
	build := exec.Command("go", "build", "-o", peerchatBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "go build peerchat:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		// What runs in this process (flag parsing, the in-process node
		// wiring) must leave no goroutine behind, as in every package.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running (or finished) peerchat process.
type proc struct {
	t       testing.TB
	name    string
	cmd     *exec.Cmd
	dataDir string
	stdout  *linelog.Log
	stderr  *linelog.Log
	exited  chan struct{} // closed when the process has ended
	waitErr error         // set before exited is closed

	// Parsed from stdout once the process is up.
	apiAddr string
	peerID  string
	listen  []string
	token   string
	client  *http.Client
}

// procSpec describes a process to start.
type procSpec struct {
	name    string   // for messages
	prefix  []string // a command that runs the binary, such as ip netns exec NS
	args    []string // peerchat's arguments
	env     []string // extra KEY=VALUE pairs; inherited PEERCHAT_ variables are dropped
	dataDir string   // the data folder, to read the token from (--data or PEERCHAT_DATA)
}

// launch starts the process and returns at once. The process is killed
// when the test ends.
func launch(t testing.TB, spec procSpec) *proc {
	t.Helper()
	argv := append(append([]string(nil), spec.prefix...), peerchatBin)
	argv = append(argv, spec.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PEERCHAT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, spec.env...)
	p := &proc{t: t, name: spec.name, cmd: cmd, dataDir: spec.dataDir, stdout: linelog.New(), stderr: linelog.New(), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	// Output copying ends with the process; WaitDelay only guards against
	// a stray child holding the pipes.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if p.client != nil {
			p.client.CloseIdleConnections()
		}
	})
	return p
}

// startProc starts the process and waits until it serves its API.
func startProc(t testing.TB, spec procSpec) *proc {
	t.Helper()
	p := launch(t, spec)
	p.waitUp()
	return p
}

// waitUp waits for the start-up lines, parses them and reads the token.
func (p *proc) waitUp() {
	p.t.Helper()
	apiLine := p.waitLine("API: http://", startTimeout)
	rest := strings.TrimPrefix(apiLine, "API: http://")
	p.apiAddr, _, _ = strings.Cut(rest, " ")
	lines, _ := p.stdout.Snapshot()
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "peer ID: "); ok {
			p.peerID = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "listening: "); ok {
			p.listen = append(p.listen, strings.TrimSpace(v))
		}
	}
	if p.peerID == "" || p.apiAddr == "" {
		p.t.Fatalf("%s: could not parse peer ID and API address from its output:\n%s", p.name, p.stdout)
	}
	for _, a := range p.listen {
		if !strings.HasSuffix(a, "/p2p/"+p.peerID) {
			p.t.Fatalf("%s: listen address %s does not end in /p2p/%s", p.name, a, p.peerID)
		}
	}
	tok, err := os.ReadFile(filepath.Join(p.dataDir, "api-token"))
	if err != nil {
		p.t.Fatalf("%s: read API token: %v", p.name, err)
	}
	p.token = strings.TrimSpace(string(tok))
	p.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

// waitLine waits until stdout has a line starting with prefix and returns
// it. It fails the test if the process ends first or the deadline passes.
func (p *proc) waitLine(prefix string, timeout time.Duration) string {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		lines, changed := p.stdout.Snapshot()
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		select {
		case <-changed:
		case <-p.exited:
			// Output written just before the exit is complete now.
			lines, _ := p.stdout.Snapshot()
			for _, l := range lines {
				if strings.HasPrefix(l, prefix) {
					return l
				}
			}
			p.t.Fatalf("%s ended (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.name, p.waitErr, prefix, p.stdout, p.stderr)
		case <-deadline.C:
			p.t.Fatalf("%s did not print %q within %v\nstdout:\n%s\nstderr:\n%s", p.name, prefix, timeout, p.stdout, p.stderr)
		}
	}
}

// kill sends SIGKILL, with no chance to shut down, and waits for the end.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		p.t.Errorf("%s did not end within %v of SIGKILL", p.name, exitTimeout)
	}
}

// waitExit waits for the process to end by itself and returns its exit
// code.
func (p *proc) waitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("%s still runs after %v\nstdout:\n%s\nstderr:\n%s", p.name, timeout, p.stdout, p.stderr)
	}
	var exitErr *exec.ExitError
	switch {
	case p.waitErr == nil:
		return 0
	case errors.As(p.waitErr, &exitErr):
		return exitErr.ExitCode()
	default:
		p.t.Fatalf("%s: wait: %v", p.name, p.waitErr)
		return -1
	}
}

// do sends one API request with the token and returns the status and body.
// A transport error (the process is gone) is returned, not fatal.
func (p *proc) do(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+p.apiAddr+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, data, err
	}
	return resp.StatusCode, data, nil
}

// call sends a request, fails the test unless the status is one of want,
// decodes the answer into out (if not nil) and returns the status.
func (p *proc) call(method, path string, body any, out any, want ...int) int {
	p.t.Helper()
	status, data, err := p.do(method, path, body)
	if err != nil {
		p.t.Fatalf("%s: %s %s: %v\nstderr:\n%s", p.name, method, path, err, p.stderr)
	}
	ok := false
	for _, w := range want {
		ok = ok || status == w
	}
	if !ok {
		p.t.Fatalf("%s: %s %s: status %d, want %v: %s", p.name, method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			p.t.Fatalf("%s: %s %s: decode %s: %v", p.name, method, path, data, err)
		}
	}
	return status
}

// apiMessage is a message as the API returns it.
type apiMessage struct {
	ID          string `json:"id"`
	Room        string `json:"room"`
	Author      string `json:"author"`
	AuthorName  string `json:"author_name"`
	Text        string `json:"text"`
	ClientMsgID string `json:"client_msg_id"`
}

// history returns the whole history of room, oldest first, following the
// pages back to the start.
func (p *proc) history(room string) []apiMessage {
	p.t.Helper()
	var all []apiMessage
	before := ""
	for page := 0; ; page++ {
		if page > 1000 {
			p.t.Fatalf("%s: history of %s does not end", p.name, room)
		}
		path := "/v1/rooms/" + room + "/messages?limit=500"
		if before != "" {
			path += "&before=" + before
		}
		var resp struct {
			Messages []apiMessage `json:"messages"`
			More     bool         `json:"more"`
		}
		p.call("GET", path, nil, &resp, http.StatusOK)
		all = append(resp.Messages, all...)
		if !resp.More || len(resp.Messages) == 0 {
			return all
		}
		before = resp.Messages[0].ID
	}
}

// freeAPIAddr returns a loopback address with a port no one listens on
// right now.
func freeAPIAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startLocalNode starts a node on loopback with mDNS off and a free API
// port, on dataDir, with extra arguments.
func startLocalNode(t testing.TB, name, dataDir string, extra ...string) *proc {
	t.Helper()
	args := []string{
		"--data", dataDir,
		"--api", freeAPIAddr(t),
		"--listen", "/ip4/127.0.0.1/tcp/0",
		"--no-mdns",
		"--name", name,
	}
	return startProc(t, procSpec{name: name, args: append(args, extra...), dataDir: dataDir})
}

// eventually polls cond every interval until it returns "" (done) or the
// deadline passes; then it fails with cond's last explanation.
func eventually(t testing.TB, timeout, interval time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, why)
		}
		time.Sleep(interval)
	}
}
