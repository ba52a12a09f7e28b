package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/peerchat/peerchat/node"
)

// logBuffer collects a Server's JSON log lines; the server writes from its
// handlers' goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log's records.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, rec)
	}
	return out
}

// withLog serves a's node again through a Server that logs to a buffer,
// with routes that fail as errs say.
func withLog(t *testing.T, a *apiNode, errs map[string]error) *logBuffer {
	t.Helper()
	logs := &logBuffer{}
	s := New(a.node, Options{Token: testToken, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	for pattern, err := range errs {
		s.handleForTest(pattern, err)
	}
	a.srv.Close()
	a.srv = httptest.NewServer(s)
	return logs
}

// failure is what a client got for one failed request.
type failure struct {
	status    int
	header    string
	code      string
	message   string
	requestID string
	raw       string
}

func getFailure(t *testing.T, a *apiNode, method, path string) failure {
	t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	raw.ReadFrom(resp.Body)
	var body struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: %q is not an error body: %v", method, path, raw.String(), err)
	}
	return failure{resp.StatusCode, resp.Header.Get(RequestIDHeader), body.Error.Code, body.Error.Message, body.Error.RequestID, raw.String()}
}

// logLineFor finds the log record of a request id.
func logLineFor(t *testing.T, logs *logBuffer, id string) map[string]any {
	t.Helper()
	for _, rec := range logs.lines(t) {
		if rec["request_id"] == id {
			return rec
		}
	}
	t.Fatalf("no log line has request id %q; the log:\n%s", id, logs.buf.String())
	return nil
}

func TestAnInternalErrorReachesTheClientAsInternalWithARequestIDAndItsDetailOnlyInTheLog(t *testing.T) {
	a := startAPINode(t, "")
	const secret = "open /home/ada/.local/share/peerchat/store/000042.sst: pebble: corruption in block 7"
	logs := withLog(t, a, map[string]error{
		"GET /v1/test/internal":     node.Errorf(node.CodeInternal, "read back message: %w", errors.New(secret)),
		"GET /v1/test/unclassified": fmt.Errorf("load index: %w", errors.New(secret)),
	})
	seen := map[string]bool{}
	for _, path := range []string{"/v1/test/internal", "/v1/test/unclassified"} {
		f := getFailure(t, a, "GET", path)
		if f.status != 500 || f.code != "internal" {
			t.Errorf("%s: status %d code %q, want 500 internal", path, f.status, f.code)
		}
		if strings.Contains(f.raw, "/home/ada") || strings.Contains(f.raw, "pebble") || strings.Contains(f.raw, "read back") {
			t.Errorf("%s: the client got the internal detail: %s", path, f.raw)
		}
		if len(f.requestID) < 16 || f.header != f.requestID || !strings.Contains(f.message, f.requestID) {
			t.Errorf("%s: request id %q in the body, %q in %s, message %q: want one id in all three", path, f.requestID, f.header, RequestIDHeader, f.message)
		}
		if seen[f.requestID] {
			t.Errorf("request id %q given twice", f.requestID)
		}
		seen[f.requestID] = true
		rec := logLineFor(t, logs, f.requestID)
		if rec["level"] != "ERROR" || !strings.Contains(fmt.Sprint(rec["err"]), secret) || rec["path"] != path || rec["code"] != "internal" {
			t.Errorf("%s: log line %v, want an ERROR with the path, the code and the detail", path, rec)
		}
	}
}

func TestAnUnavailableErrorKeepsTheNodesWordsButNotTheLibrarysCause(t *testing.T) {
	a := startAPINode(t, "")
	const cause = "pebble: write /home/ada/.local/share/peerchat/store/MANIFEST-000001: input/output error"
	logs := withLog(t, a, map[string]error{
		"GET /v1/test/unavailable": node.Errorf(node.CodeUnavailable, "read history: %w", errors.New(cause)),
	})
	f := getFailure(t, a, "GET", "/v1/test/unavailable")
	if f.status != 503 || f.code != "unavailable" || !strings.HasPrefix(f.message, "read history") || strings.Contains(f.raw, "pebble") || strings.Contains(f.raw, "/home/ada") {
		t.Fatalf("got %d %s %q, want 503 unavailable saying what failed, without the cause", f.status, f.code, f.message)
	}
	if rec := logLineFor(t, logs, f.requestID); rec["level"] != "WARN" || !strings.Contains(fmt.Sprint(rec["err"]), cause) {
		t.Fatalf("log line %v, want a WARN with the cause", rec)
	}
}

func TestAFullDiskIsToldToTheClientAndLoggedUnderTheSameRequestID(t *testing.T) {
	// A real node whose store refuses every write: it wants more free
	// space than any disk has.
	a := startAPINodeWith(t, func(c *nodeConfig) { c.MinFreeBytes = 1 << 60 })
	logs := withLog(t, a, nil)
	f := getFailure(t, a, "PUT", "/v1/rooms/r")
	if f.status != 503 || f.code != "unavailable" || !strings.Contains(f.message, "disk") || f.requestID == "" || f.header != f.requestID {
		t.Fatalf("join on a full disk: %d %s %q (request id %q, header %q), want 503 unavailable saying the disk is full, with a request id",
			f.status, f.code, f.message, f.requestID, f.header)
	}
	if rec := logLineFor(t, logs, f.requestID); rec["level"] != "WARN" || rec["method"] != "PUT" || !strings.Contains(fmt.Sprint(rec["err"]), "disk") {
		t.Fatalf("log line %v, want a WARN for PUT with the store's error", rec)
	}
}

func TestClientMistakesAreExplainedWholeAndNotLogged(t *testing.T) {
	a := startAPINode(t, "")
	logs := withLog(t, a, nil)
	a.join("r")
	var e errorJSON
	if st := a.do("POST", "/v1/rooms/r/messages", `{"text":`, &e); st != 400 || !strings.Contains(e.Error.Message, "not valid JSON") {
		t.Fatalf("bad JSON: %d %+v", st, e)
	}
	if lines := logs.lines(t); len(lines) != 0 {
		t.Fatalf("a client's mistake was logged as the node's failure: %v", lines)
	}
}

func TestEveryAnswerCarriesNosniffAndARequestID(t *testing.T) {
	a := startAPINode(t, "")
	cases := []struct {
		name, path, host, token string
		status                  int
	}{
		{"JSON answer", "/v1/node", "", testToken, 200},
		{"unauthorized", "/v1/node", "", "", 401},
		{"foreign Host", "/v1/node", "evil.example", testToken, 403},
		{"unknown endpoint", "/v1/nope", "", testToken, 404},
		{"the UI page", "/", "", "", 200},
		{"a UI module", "/app.js", "", "", 200},
		{"missing UI file", "/nope.js", "", "", 404},
		{"a UI folder", "/lib/", "", "", 404},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", a.srv.URL+c.path, nil)
		if c.host != "" {
			req.Host = c.host
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get(RequestIDHeader) == "" {
			t.Errorf("%s: %d, nosniff %q, request id %q; want %d with both", c.name, resp.StatusCode,
				resp.Header.Get("X-Content-Type-Options"), resp.Header.Get(RequestIDHeader), c.status)
		}
	}
}
