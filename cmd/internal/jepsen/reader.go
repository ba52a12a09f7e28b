package jepsen

// Event readers: one per transport (WebSocket, SSE, long polling) and
// node, each a client that remembers the last seq it was given and
// resumes from it whenever its connection breaks, as docs/api.md tells
// clients to do.
import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// eventReader records what one resuming client was given.
type eventReader struct {
	transport string // "ws", "sse" or "poll"
	node      *node

	mu         sync.Mutex
	last       uint64         // the last seq given
	got        map[string]int // message id -> message events given
	events     int            // events of every type given
	replayed   int            // events given with a seq at or below last
	gapped     uint64         // seqs skipped between two events given
	reconnects int
	refused    []string // resumes the node refused (a 400 or 410 for a seq it gave)
}

func newEventReader(transport string, n *node) *eventReader {
	return &eventReader{transport: transport, node: n, got: map[string]int{}}
}

func (r *eventReader) String() string { return r.node.name + "/" + r.transport }

// since is the seq to resume from.
func (r *eventReader) since() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// deliver records one event as the client received it.
func (r *eventReader) deliver(raw []byte) error {
	var ev struct {
		Seq     uint64 `json:"seq"`
		Type    string `json:"type"`
		Message *struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s: decode event %q: %w", r, raw, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events++
	if ev.Seq <= r.last {
		r.replayed++
		return nil
	}
	if r.last != 0 && ev.Seq != r.last+1 {
		r.gapped += ev.Seq - r.last - 1
	}
	r.last = ev.Seq
	if ev.Type == "message" && ev.Message != nil {
		r.got[ev.Message.ID]++
	}
	return nil
}

// refuse records a resume the node refused.
func (r *eventReader) refuse(status int, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, fmt.Sprintf("since %d: %d %s", r.last, status, strings.TrimSpace(string(body))))
}

// run reads until ctx ends, reconnecting from the last seq after every
// break.
func (r *eventReader) run(ctx context.Context) {
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for ctx.Err() == nil {
		var err error
		switch r.transport {
		case "ws":
			err = r.readWebSocket(ctx)
		case "sse":
			err = r.readSSE(ctx, client)
		default:
			err = r.poll(ctx, client)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.mu.Lock()
			r.reconnects++
			r.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(retryPause):
			}
		}
	}
}

// header authorises a request with the node's token.
func (r *eventReader) header() http.Header {
	return http.Header{"Authorization": {"Bearer " + r.node.token}}
}

// checkRefusal records a 400 or 410: the node refused a seq it had given.
func (r *eventReader) checkRefusal(resp *http.Response) {
	if resp == nil || (resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusGone) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	r.refuse(resp.StatusCode, body)
}

// readWebSocket follows the event WebSocket from the last seq given.
func (r *eventReader) readWebSocket(ctx context.Context) error {
	url := fmt.Sprintf("ws://%s/v1/events/ws?since=%d", r.node.api, r.since())
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: r.header()})
	cancel()
	if err != nil {
		r.checkRefusal(resp)
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := r.deliver(data); err != nil {
			return err
		}
	}
}

// readSSE connects like a browser's EventSource: the first time with
// since, afterwards with Last-Event-ID set to the last id it received.
func (r *eventReader) readSSE(ctx context.Context, client *http.Client) error {
	last := r.since()
	url := fmt.Sprintf("http://%s/v1/events/sse", r.node.api)
	if last == 0 {
		url += "?since=0"
	}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return fmt.Errorf("SSE request: %w", err)
	}
	req.Header = r.header()
	if last > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(last, 10))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.checkRefusal(resp)
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var data []byte
	isError := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if isError {
				r.refuse(0, data)
				return fmt.Errorf("error event: %s", data)
			}
			if data != nil {
				if err := r.deliver(data); err != nil {
					return err
				}
			}
			data, isError = nil, false
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):]...)
		case line == "event: error":
			isError = true
		}
	}
	return fmt.Errorf("stream ended: %v", sc.Err())
}

// poll long-polls from the last seq given, page after page, until a
// request fails.
func (r *eventReader) poll(ctx context.Context, client *http.Client) error {
	for {
		url := fmt.Sprintf("http://%s/v1/events?since=%d&timeout=2", r.node.api, r.since())
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return fmt.Errorf("poll request: %w", err)
		}
		req.Header = r.header()
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		var page struct {
			Events []json.RawMessage `json:"events"`
			Next   uint64            `json:"next"`
		}
		if resp.StatusCode != http.StatusOK {
			r.checkRefusal(resp)
			resp.Body.Close()
			return fmt.Errorf("poll: status %d", resp.StatusCode)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("poll: decode: %w", err)
		}
		for _, raw := range page.Events {
			if err := r.deliver(raw); err != nil {
				return err
			}
		}
	}
}
