package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/peerchat/peerchat/node"
)

func TestTwoNodesChatThroughTheHTTPAPI(t *testing.T) {
	a := startAPINode(t, "")
	b := startAPINode(t, "", a)
	a.join("lobby")
	b.join("lobby")
	waitFor(t, 10*time.Second, "mesh", func() bool { return a.roomPeers("lobby") == 1 && b.roomPeers("lobby") == 1 })
	for i := 0; i < 10; i++ {
		a.send("lobby", fmt.Sprintf("a%d", i), "")
		b.send("lobby", fmt.Sprintf("b%d", i), "")
	}
	waitFor(t, 10*time.Second, "20 messages on both", func() bool { return len(a.history("lobby")) == 20 && len(b.history("lobby")) == 20 })
	if !slices.Equal(ids(a.history("lobby")), ids(b.history("lobby"))) {
		t.Fatal("the two nodes list history in different orders")
	}
	var peers struct {
		Peers []struct {
			PeerID     string `json:"peer_id"`
			Connection string `json:"connection"`
		}
	}
	a.do("GET", "/v1/peers", nil, &peers)
	if len(peers.Peers) != 1 || peers.Peers[0].PeerID != b.node.ID().String() || peers.Peers[0].Connection != "direct" {
		t.Fatalf("peers = %+v", peers.Peers)
	}
	var info struct {
		PeerID  string   `json:"peer_id"`
		Addrs   []string `json:"addrs"`
		Version string   `json:"version"`
	}
	if a.do("GET", "/v1/node", nil, &info) != 200 || info.PeerID != a.node.ID().String() || len(info.Addrs) == 0 || info.Version == "" {
		t.Fatalf("node info = %+v", info)
	}
}

func TestMessageJSONHasEveryDocumentedField(t *testing.T) {
	a := startAPINode(t, "")
	a.join("r")
	var raw map[string]map[string]any
	if st := a.do("POST", "/v1/rooms/r/messages", `{"text":"hi","client_msg_id":"c1"}`, &raw); st != 201 {
		t.Fatalf("status %d", st)
	}
	for _, f := range []string{"id", "room", "author", "author_name", "text", "lamport", "sent_at", "client_msg_id"} {
		if _, ok := raw["message"][f]; !ok {
			t.Errorf("message lacks %q: %v", f, raw["message"])
		}
	}
	if _, err := time.Parse(time.RFC3339, raw["message"]["sent_at"].(string)); err != nil {
		t.Errorf("sent_at is not RFC 3339: %v", err)
	}
}

func TestResendingAClientMsgIDReturns200AndTheSameMessage(t *testing.T) {
	dir := t.TempDir()
	a := startAPINode(t, dir)
	a.join("r")
	first := a.send("r", "once", "cid-7")
	var again struct{ Message messageJSON }
	if st := a.do("POST", "/v1/rooms/r/messages", map[string]string{"text": "once", "client_msg_id": "cid-7"}, &again); st != 200 || again.Message.ID != first.ID {
		t.Fatalf("resend: status %d id %s, want 200 %s", st, again.Message.ID, first.ID)
	}
	a.stop()
	a = startAPINode(t, dir)
	if st := a.do("POST", "/v1/rooms/r/messages", map[string]string{"text": "once", "client_msg_id": "cid-7"}, &again); st != 200 || again.Message.ID != first.ID {
		t.Fatalf("resend after restart: status %d", st)
	}
	if n := len(a.history("r")); n != 1 {
		t.Fatalf("%d messages stored", n)
	}
}

func TestHistoryPagesBackwardsOldestFirst(t *testing.T) {
	a := startAPINode(t, "")
	a.join("p")
	var sent []string
	for i := 0; i < 25; i++ {
		sent = append(sent, a.send("p", fmt.Sprintf("m%d", i), "").ID)
	}
	var page struct {
		Messages []messageJSON
		More     bool
	}
	a.do("GET", "/v1/rooms/p/messages?limit=10", nil, &page)
	if !page.More || !slices.Equal(ids(page.Messages), sent[15:]) {
		t.Fatalf("newest page wrong: more=%v", page.More)
	}
	a.do("GET", "/v1/rooms/p/messages?limit=10&before="+page.Messages[0].ID, nil, &page)
	if !page.More || !slices.Equal(ids(page.Messages), sent[5:15]) {
		t.Fatalf("second page wrong")
	}
	a.do("GET", "/v1/rooms/p/messages?limit=10&before="+page.Messages[0].ID, nil, &page)
	if page.More || !slices.Equal(ids(page.Messages), sent[:5]) {
		t.Fatalf("last page wrong: more=%v n=%d", page.More, len(page.Messages))
	}
}

func TestBadRequestsGetClearErrorsAndChangeNothing(t *testing.T) {
	a := startAPINode(t, "")
	a.join("r")
	long := strings.Repeat("x", 16001)
	cases := []struct {
		name, method, path string
		body               any
		token              string
		status             int
		code               string
	}{
		{"missing token", "GET", "/v1/rooms", nil, "", 401, "unauthorized"},
		{"wrong token", "GET", "/v1/rooms", nil, "nope", 401, "unauthorized"},
		{"missing token on events", "GET", "/v1/events", nil, "", 401, "unauthorized"},
		{"missing token on websocket", "GET", "/v1/events/ws", nil, "", 401, "unauthorized"},
		{"invalid JSON", "POST", "/v1/rooms/r/messages", `{"text":`, testToken, 400, "invalid"},
		{"empty body", "POST", "/v1/rooms/r/messages", ``, testToken, 400, "invalid"},
		{"missing text", "POST", "/v1/rooms/r/messages", `{}`, testToken, 400, "invalid"},
		{"empty text", "POST", "/v1/rooms/r/messages", `{"text":""}`, testToken, 400, "invalid"},
		{"oversized text", "POST", "/v1/rooms/r/messages", map[string]string{"text": long}, testToken, 413, "too_large"},
		{"oversized body", "POST", "/v1/rooms/r/messages", `{"text":"` + strings.Repeat("y", MaxBodyBytes) + `"}`, testToken, 413, "too_large"},
		{"unknown room", "POST", "/v1/rooms/nowhere/messages", `{"text":"hi"}`, testToken, 404, "not_found"},
		{"history of unknown room", "GET", "/v1/rooms/nowhere/messages", nil, testToken, 404, "not_found"},
		{"bad room name", "PUT", "/v1/rooms/bad%20name", nil, testToken, 400, "invalid"},
		{"too long room name", "PUT", "/v1/rooms/" + strings.Repeat("r", 65), nil, testToken, 400, "invalid"},
		{"bad limit", "GET", "/v1/rooms/r/messages?limit=abc", nil, testToken, 400, "invalid"},
		{"bad before", "GET", "/v1/rooms/r/messages?before=zz", nil, testToken, 400, "invalid"},
		{"unknown before", "GET", "/v1/rooms/r/messages?before=" + strings.Repeat("ab", 32), nil, testToken, 404, "not_found"},
		{"bad since", "GET", "/v1/events?since=-1", nil, testToken, 400, "invalid"},
		{"since ahead of log", "GET", "/v1/events?since=99999", nil, testToken, 400, "invalid"},
		{"bad timeout", "GET", "/v1/events?timeout=x", nil, testToken, 400, "invalid"},
		{"unknown endpoint", "GET", "/v1/nope", nil, testToken, 404, "not_found"},
	}
	for _, c := range cases {
		var e errorJSON
		st := a.doWith(c.method, c.path, c.body, &e, c.token)
		if st != c.status || e.Error.Code != c.code || e.Error.Message == "" {
			t.Errorf("%s: status %d code %q message %q, want %d %q", c.name, st, e.Error.Code, e.Error.Message, c.status, c.code)
		}
	}
	if n := len(a.history("r")); n != 0 {
		t.Fatalf("bad requests stored %d messages", n)
	}
	var rooms struct{ Rooms []struct{ Room string } }
	a.do("GET", "/v1/rooms", nil, &rooms)
	if len(rooms.Rooms) != 1 {
		t.Fatalf("bad requests changed the rooms: %+v", rooms.Rooms)
	}
}

// messagesOnly keeps the message events: signals such as presence and
// receipts interleave with them.
func messagesOnly(evs []eventJSON) []eventJSON {
	var out []eventJSON
	for _, ev := range evs {
		if ev.Type == "message" {
			out = append(out, ev)
		}
	}
	return out
}

// poll reads events after since with long polling until it has want
// message events.
func poll(t *testing.T, a *apiNode, since uint64, want int) []eventJSON {
	t.Helper()
	var got []eventJSON
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		var out struct {
			Events []eventJSON
			Next   uint64
		}
		if st := a.do("GET", fmt.Sprintf("/v1/events?since=%d&timeout=2", since), nil, &out); st != 200 {
			t.Fatalf("poll: status %d", st)
		}
		got = append(got, messagesOnly(out.Events)...)
		since = out.Next
	}
	return got
}

func TestLongPollingResumesFromLastSeqExactlyOnce(t *testing.T) {
	a := startAPINode(t, "")
	b := startAPINode(t, "", a)
	a.join("lp")
	b.join("lp")
	waitFor(t, 10*time.Second, "mesh", func() bool { return b.roomPeers("lp") == 1 })
	for i := 0; i < 5; i++ {
		a.send("lp", fmt.Sprintf("m%d", i), "")
	}
	first := poll(t, b, 0, 5)
	last := first[2].Seq // the client saw three events, then went away
	for i := 5; i < 10; i++ {
		a.send("lp", fmt.Sprintf("m%d", i), "")
	}
	rest := poll(t, b, last, 7)
	seen := map[string]int{}
	for _, ev := range append(first[:3], rest...) {
		if ev.Type != "message" || ev.Message == nil {
			t.Fatalf("unexpected event %+v", ev)
		}
		seen[ev.Message.Text]++
	}
	for i := 0; i < 10; i++ {
		if seen[fmt.Sprintf("m%d", i)] != 1 {
			t.Fatalf("message m%d seen %d times over a resumed poll", i, seen[fmt.Sprintf("m%d", i)])
		}
	}
}

func TestLongPollAnswersAsSoonAsAnEventArrives(t *testing.T) {
	a := startAPINode(t, "")
	a.join("w")
	seq := a.node.LastSeq()
	done := make(chan []eventJSON)
	go func() {
		var out struct{ Events []eventJSON }
		a.do("GET", fmt.Sprintf("/v1/events?since=%d&timeout=30", seq), nil, &out)
		done <- out.Events
	}()
	select {
	case evs := <-done:
		t.Fatalf("long poll answered with nothing new: %+v", evs)
	case <-time.After(300 * time.Millisecond): // it is waiting, as it should
	}
	a.send("w", "wake up", "")
	select {
	case evs := <-done:
		evs = messagesOnly(evs)
		if len(evs) != 1 || evs[0].Message.Text != "wake up" {
			t.Fatalf("poll answered %+v", evs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not answer when an event arrived")
	}
}

func dialWS(t *testing.T, a *apiNode, since uint64) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(a.srv.URL, "http") + fmt.Sprintf("/v1/events/ws?since=%d", since)
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}}})
	if err != nil {
		t.Fatalf("dial websocket: %v", err)
	}
	return c
}

func readWS(t *testing.T, c *websocket.Conn, n int) []eventJSON {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []eventJSON
	var lastSeq uint64
	for len(out) < n {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read websocket after %d events: %v", len(out), err)
		}
		if typ != websocket.MessageText {
			t.Fatalf("frame type %v, want text", typ)
		}
		var ev eventJSON
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Seq <= lastSeq {
			t.Fatalf("websocket seq %d after %d: repeated or out of order", ev.Seq, lastSeq)
		}
		lastSeq = ev.Seq
		if ev.Type == "message" {
			out = append(out, ev)
		}
	}
	return out
}

func TestWebSocketResumesFromLastSeqExactlyOnce(t *testing.T) {
	a := startAPINode(t, "")
	b := startAPINode(t, "", a)
	a.join("ws")
	b.join("ws")
	waitFor(t, 10*time.Second, "mesh", func() bool { return b.roomPeers("ws") == 1 })
	c := dialWS(t, b, 0)
	for i := 0; i < 5; i++ {
		a.send("ws", fmt.Sprintf("m%d", i), "")
	}
	first := readWS(t, c, 5)
	c.CloseNow()
	for i := 5; i < 10; i++ {
		a.send("ws", fmt.Sprintf("m%d", i), "")
	}
	c = dialWS(t, b, first[len(first)-1].Seq)
	defer c.CloseNow()
	rest := readWS(t, c, 5)
	var texts []string
	for _, ev := range append(first, rest...) {
		texts = append(texts, ev.Message.Text)
	}
	slices.Sort(texts)
	for i := range texts {
		if texts[i] != fmt.Sprintf("m%d", i) {
			t.Fatalf("websocket delivered %v", texts)
		}
	}
	// Nothing more arrives: each message was delivered once.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			break
		}
		var ev eventJSON
		json.Unmarshal(data, &ev)
		if ev.Type == "message" {
			t.Fatalf("extra message event after resume: %s", data)
		}
	}
}

func TestResumingFromASeqTheLogNoLongerKeepsIsGone(t *testing.T) {
	n := startAPINodeWith(t, func(cfg *nodeConfig) { cfg.MaxEvents = 5 })
	n.join("g")
	for i := 0; i < 20; i++ {
		n.send("g", fmt.Sprintf("m%d", i), "")
	}
	var e errorJSON
	if st := n.do("GET", "/v1/events?since=1", nil, &e); st != 410 || e.Error.Code != "gone" {
		t.Fatalf("poll from a pruned seq: status %d code %q", st, e.Error.Code)
	}
	if st := n.do("GET", "/v1/events/ws?since=1", nil, &e); st != 410 {
		t.Fatalf("websocket from a pruned seq: status %d", st)
	}
}

func TestSendingFasterThanTheRateLimitGets429WithRetry(t *testing.T) {
	a := startAPINodeWith(t, func(c *nodeConfig) { c.RateLimit = node.RateLimit{PerSecond: 0.001, Burst: 3} })
	a.join("r")
	for i := range 3 {
		a.send("r", fmt.Sprintf("within %d", i), "")
	}
	req, _ := http.NewRequest("POST", a.srv.URL+"/v1/rooms/r/messages", strings.NewReader(`{"text":"beyond"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Code  string `json:"code"`
			Retry bool   `json:"retry"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || e.Error.Code != "rate_limited" || !e.Error.Retry || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d code %q retry %v Retry-After %q, want 429 rate_limited true and a Retry-After",
			resp.StatusCode, e.Error.Code, e.Error.Retry, resp.Header.Get("Retry-After"))
	}
	if n := len(a.history("r")); n != 3 {
		t.Fatalf("history holds %d messages, want the 3 accepted", n)
	}
}
