package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestForeignHostIsRefusedToStopDNSRebinding(t *testing.T) {
	a := startAPINode(t, "")
	req, _ := http.NewRequest("GET", a.srv.URL+"/v1/node", nil)
	req.Host = "evil.example:80"
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("foreign Host: %d, want 403", resp.StatusCode)
	}
	port := a.srv.URL[strings.LastIndex(a.srv.URL, ":")+1:]
	req.Host = "localhost:" + port
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("localhost on the API's port: %d, want 200", resp.StatusCode)
	}
}

func TestForeignOriginIsRefusedEvenWithTheToken(t *testing.T) {
	a := startAPINode(t, "")
	a.join("o")
	for _, path := range []string{"/v1/rooms/o/messages", "/v1/events", "/v1/events/sse"} {
		method := "GET"
		if strings.HasSuffix(path, "messages") {
			method = "POST"
		}
		req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(`{"text":"x"}`))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Origin", "http://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%s %s from a foreign origin: %d, want 403", method, path, resp.StatusCode)
		}
	}
	if n := len(a.history("o")); n != 0 {
		t.Fatalf("a foreign page stored %d messages", n)
	}
}

func TestCrossSiteWebSocketIsRefused(t *testing.T) {
	a := startAPINode(t, "")
	session := a.signIn()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/v1/events/ws"
	// Even a hostile page that held the session would send its own Origin.
	protocols := []string{WebSocketProtocol, SessionProtocolPrefix + session}
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: protocols,
		HTTPHeader:   http.Header{"Origin": {"http://evil.example"}},
	})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site WebSocket: err=%v resp=%v, want 403", err, resp)
	}
	// The node's own page is let in.
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: protocols,
		HTTPHeader:   http.Header{"Origin": {a.srv.URL}},
	})
	if err != nil {
		t.Fatalf("same-origin WebSocket: %v", err)
	}
	if c.Subprotocol() != WebSocketProtocol {
		t.Errorf("subprotocol %q, want %q", c.Subprotocol(), WebSocketProtocol)
	}
	c.CloseNow()
}

func TestTheUIPageLoadsWithoutTheToken(t *testing.T) {
	a := startAPINode(t, "")
	resp, err := http.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("UI page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
