package api

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSignalsOverTheAPI(t *testing.T) {
	a := startAPINode(t, "")
	b := startAPINode(t, "", a)
	a.join("s")
	b.join("s")
	waitFor(t, 10*time.Second, "mesh", func() bool { return a.roomPeers("s") == 1 && b.roomPeers("s") == 1 })

	var typing struct{ Sent bool }
	if st := a.do("POST", "/v1/rooms/s/typing", nil, &typing); st != 200 || !typing.Sent {
		t.Fatalf("typing: status %d sent %v", st, typing.Sent)
	}
	if a.do("POST", "/v1/rooms/s/typing", nil, &typing); typing.Sent {
		t.Fatal("second typing call within 2 s sent a signal")
	}
	if st := a.do("POST", "/v1/rooms/nowhere/typing", nil, nil); st != 404 {
		t.Fatalf("typing in unknown room: %d", st)
	}
	waitFor(t, 5*time.Second, "typing event on b", func() bool {
		for _, ev := range allEvents(t, b) {
			if ev["type"] == "typing" && ev["peer_id"] == a.node.ID().String() && ev["until"] != nil {
				return true
			}
		}
		return false
	})

	m := a.send("s", "read this", "")
	waitFor(t, 5*time.Second, "message on b", func() bool { return len(b.history("s")) == 1 })
	var rooms struct {
		Rooms []struct {
			Room   string
			Unread int
		}
	}
	b.do("GET", "/v1/rooms", nil, &rooms)
	if len(rooms.Rooms) != 1 || rooms.Rooms[0].Unread != 1 {
		t.Fatalf("rooms on b = %+v, want 1 unread", rooms.Rooms)
	}
	var read struct {
		Room string `json:"room"`
		UpTo string `json:"up_to"`
	}
	if st := b.do("POST", "/v1/rooms/s/read", map[string]string{"up_to": m.ID}, &read); st != 200 || read.UpTo != m.ID {
		t.Fatalf("read: %d %+v", st, read)
	}
	if st := b.do("POST", "/v1/rooms/s/read", `{"up_to":"nope"}`, nil); st != 400 {
		t.Fatalf("read with a bad id: %d", st)
	}
	b.do("GET", "/v1/rooms", nil, &rooms)
	if rooms.Rooms[0].Unread != 0 {
		t.Fatalf("unread after reading = %d", rooms.Rooms[0].Unread)
	}
	waitFor(t, 5*time.Second, "read status on a", func() bool {
		for _, ev := range allEvents(t, a) {
			if ev["type"] == "message.status" && ev["id"] == m.ID && ev["status"] == "read" && ev["read"] == 1.0 {
				return true
			}
		}
		return false
	})

	if st := a.do("PUT", "/v1/presence", map[string]string{"status": "away"}, nil); st != 200 {
		t.Fatalf("presence: %d", st)
	}
	if st := a.do("PUT", "/v1/presence", map[string]string{"status": "asleep"}, nil); st != 400 {
		t.Fatalf("bad presence: %d", st)
	}
	var members struct {
		Members []struct {
			PeerID   string `json:"peer_id"`
			Name     string
			Status   string
			LastSeen string `json:"last_seen"`
			ReadUpTo string `json:"read_up_to"`
		}
	}
	waitFor(t, 5*time.Second, "a away in b's member list", func() bool {
		b.do("GET", "/v1/rooms/s/members", nil, &members)
		for _, mb := range members.Members {
			if mb.PeerID == a.node.ID().String() && mb.Status == "away" && mb.LastSeen != "" {
				return true
			}
		}
		return false
	})
	a.do("GET", "/v1/rooms/s/members", nil, &members)
	var bRead string
	for _, mb := range members.Members {
		if mb.PeerID == b.node.ID().String() {
			bRead = mb.ReadUpTo
		}
	}
	if bRead != m.ID {
		t.Fatalf("a's member list shows b read up to %q, want %s", bRead, m.ID)
	}
}

func allEvents(t *testing.T, a *apiNode) []map[string]any {
	t.Helper()
	var out struct{ Events []map[string]any }
	if st := a.do("GET", "/v1/events?since=0", nil, &out); st != 200 {
		t.Fatalf("events: %d", st)
	}
	return out.Events
}

func TestSSEStreamsEventsAndResumesFromLastEventID(t *testing.T) {
	a := startAPINode(t, "")
	a.join("sse")
	m1 := a.send("sse", "one", "")
	open := func(lastID string) (*bufio.Reader, func()) {
		req, _ := http.NewRequest("GET", a.srv.URL+"/v1/events/sse", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("sse: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return bufio.NewReader(resp.Body), func() { resp.Body.Close() }
	}
	// next returns the id and data of the next message event.
	next := func(r *bufio.Reader) (string, string) {
		var id, data string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read sse: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			case line == "" && data != "":
				if strings.Contains(data, `"type":"message"`) {
					return id, data
				}
				id, data = "", ""
			}
		}
		t.Fatal("no sse event before the deadline")
		return "", ""
	}
	r, closeFn := open("")
	id1, data := next(r)
	if !strings.Contains(data, m1.ID) || id1 != "1" {
		t.Fatalf("first sse event: id %s data %s", id1, data)
	}
	closeFn()
	m2 := a.send("sse", "two", "")
	r, closeFn = open(id1)
	defer closeFn()
	_, data = next(r)
	if !strings.Contains(data, m2.ID) {
		t.Fatalf("resumed sse gave %s, want message %s", data, m2.ID)
	}
}

func TestWebSocketRefusedWhenTurnedOff(t *testing.T) {
	a := startAPINodeWith(t, nil)
	a.srv.Config.Handler = New(a.node, Options{Token: testToken, RefuseWebSocket: true})
	var e errorJSON
	if st := a.do("GET", "/v1/events/ws", nil, &e); st != 503 || e.Error.Code != "unavailable" {
		t.Fatalf("refused websocket: %d %+v", st, e)
	}
	if st := a.do("GET", fmt.Sprintf("/v1/events?since=%d", 0), nil, nil); st != 200 {
		t.Fatalf("long polling still works: %d", st)
	}
}

func TestSyncProgressIsReportedPerRoomAndPeer(t *testing.T) {
	a := startAPINode(t, "")
	a.join("h")
	for i := 0; i < 30; i++ {
		a.send("h", fmt.Sprintf("old %d", i), "")
	}
	b := startAPINode(t, "", a)
	b.join("h")
	waitFor(t, 10*time.Second, "history synced to b", func() bool { return len(b.history("h")) == 30 })
	var out struct {
		Syncs []struct {
			Room       string `json:"room"`
			Peer       string `json:"peer_id"`
			State      string `json:"state"`
			Received   int    `json:"received_total"`
			Sent       int    `json:"sent"`
			FinishedAt string `json:"finished_at"`
		}
	}
	waitFor(t, 5*time.Second, "a finished sync on b", func() bool {
		b.do("GET", "/v1/sync", nil, &out)
		total := 0
		for _, s := range out.Syncs {
			if s.Room == "h" && s.Peer == a.node.ID().String() && s.State == "done" && s.FinishedAt != "" {
				total += s.Received
			}
		}
		return total >= 30
	})
	sawSyncEvent := false
	for _, ev := range allEvents(t, b) {
		if ev["type"] == "sync" && ev["room"] == "h" {
			sawSyncEvent = true
		}
	}
	if !sawSyncEvent {
		t.Fatal("no sync event on b")
	}
}
