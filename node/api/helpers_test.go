package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node"
)

const testToken = "test-token-0123456789abcdef"

// apiNode is a real node with its API served by an httptest server.
type apiNode struct {
	t    testing.TB
	node *node.Node
	srv  *httptest.Server
	dir  string

	stopped bool
}

type nodeConfig = node.Config

func startAPINode(t testing.TB, dir string, bootstrap ...*apiNode) *apiNode {
	t.Helper()
	return startAPINodeIn(t, dir, nil, bootstrap...)
}

func startAPINodeWith(t testing.TB, mutate func(*nodeConfig)) *apiNode {
	t.Helper()
	return startAPINodeIn(t, "", mutate)
}

func startAPINodeIn(t testing.TB, dir string, mutate func(*nodeConfig), bootstrap ...*apiNode) *apiNode {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := node.Config{
		DataDir:     dir,
		Name:        "n",
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		NoMDNS:      true,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:    prometheus.NewRegistry(),
	}
	for _, b := range bootstrap {
		cfg.Bootstrap = append(cfg.Bootstrap, b.node.Addrs()[0].String())
	}
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := node.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(n, Options{Token: testToken, Logger: cfg.Logger}))
	a := &apiNode{t: t, node: n, srv: srv, dir: dir}
	t.Cleanup(a.stop)
	return a
}

func (a *apiNode) stop() {
	if a.stopped {
		return
	}
	a.stopped = true
	a.srv.CloseClientConnections()
	a.srv.Close()
	a.node.Close()
}

// do sends a request with the token and decodes a JSON answer into out
// (when non-nil). It returns the status.
func (a *apiNode) do(method, path string, body any, out any) int {
	a.t.Helper()
	return a.doWith(method, path, body, out, testToken)
}

func (a *apiNode) doWith(method, path string, body any, out any, token string) int {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

type messageJSON struct {
	ID          string `json:"id"`
	Room        string `json:"room"`
	Author      string `json:"author"`
	AuthorName  string `json:"author_name"`
	Text        string `json:"text"`
	Lamport     uint64 `json:"lamport"`
	SentAt      string `json:"sent_at"`
	ClientMsgID string `json:"client_msg_id"`
}

type eventJSON struct {
	Seq     uint64       `json:"seq"`
	Type    string       `json:"type"`
	Room    string       `json:"room"`
	Message *messageJSON `json:"message"`
}

type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (a *apiNode) send(room, text, clientID string) messageJSON {
	a.t.Helper()
	var out struct{ Message messageJSON }
	if st := a.do("POST", "/v1/rooms/"+room+"/messages", map[string]string{"text": text, "client_msg_id": clientID}, &out); st != http.StatusCreated {
		a.t.Fatalf("send %q: status %d", text, st)
	}
	return out.Message
}

func (a *apiNode) history(room string) []messageJSON {
	a.t.Helper()
	var out struct {
		Messages []messageJSON
		More     bool
	}
	if st := a.do("GET", "/v1/rooms/"+room+"/messages?limit=500", nil, &out); st != http.StatusOK {
		a.t.Fatalf("history: status %d", st)
	}
	return out.Messages
}

func (a *apiNode) join(room string) {
	a.t.Helper()
	if st := a.do("PUT", "/v1/rooms/"+room, nil, nil); st != http.StatusOK {
		a.t.Fatalf("join %s: status %d", room, st)
	}
}

func (a *apiNode) roomPeers(room string) int {
	var out struct {
		Rooms []struct {
			Room  string
			Peers int
		}
	}
	a.do("GET", "/v1/rooms", nil, &out)
	for _, r := range out.Rooms {
		if r.Room == room {
			return r.Peers
		}
	}
	return -1
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ids(msgs []messageJSON) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// signIn exchanges the token for a browser session, as the sign-in page
// does, and returns the session.
func (a *apiNode) signIn() string {
	a.t.Helper()
	resp, err := http.Post(a.srv.URL+"/auth", "application/json", bytes.NewBufferString(`{"token":"`+testToken+`"}`))
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Session string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Session == "" {
		a.t.Fatalf("sign in: status %d, session %q, %v", resp.StatusCode, out.Session, err)
	}
	return out.Session
}
