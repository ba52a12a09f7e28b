package jepsen

// The clients: each posts to one node with a fresh client_msg_id per
// message and retries until the node acknowledges it, as docs/api.md tells
// a client to do, and writes what it did in the send book.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	// retryPause is how long a client waits before it tries a send again
	// and a reader before it dials again: the node is usually being
	// restarted, and a pause this short finds it soon after it is back.
	retryPause = 50 * time.Millisecond
	// sendDeadline bounds how long a client retries one send; a send not
	// acknowledged by then is counted as unanswered.
	sendDeadline = 2 * time.Minute
)

// client posts messages to one node. It never retries on another node: a
// client_msg_id is one author's, and another node is another author.
type client struct {
	id   int
	node *node
	book *sendBook
}

// sendBook is what the clients did: every client_msg_id tried, its text
// and the message id it was acknowledged with.
type sendBook struct {
	mu          sync.Mutex
	attempted   map[string]string // client_msg_id -> text
	acked       map[string]string // client_msg_id -> message id
	retries     int
	rateLimited int
	resent      int // answered 200: stored by an earlier try
	unanswered  []string
}

func newSendBook() *sendBook {
	return &sendBook{attempted: map[string]string{}, acked: map[string]string{}}
}

// run sends at rate messages a second until stop is closed; a send under
// way when stop closes is finished, so that every attempted message has a
// known outcome. It gives up at once when ctx ends.
func (c *client) run(ctx context.Context, stop <-chan struct{}, rate float64) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	every := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for i := 0; ; i++ {
		wait := time.NewTimer(time.Until(next))
		select {
		case <-stop:
			wait.Stop()
			return
		case <-ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
		next = next.Add(every)
		cid := fmt.Sprintf("c%d-%06d", c.id, i)
		text := "jepsen " + cid
		c.book.mu.Lock()
		c.book.attempted[cid] = text
		c.book.mu.Unlock()
		c.send(ctx, hc, cid, text)
	}
}

// send posts one message until it is acknowledged, for at most
// sendDeadline. A try cut off by a kill has an unknown outcome; the retry
// with the same client_msg_id settles it.
func (c *client) send(ctx context.Context, hc *http.Client, cid, text string) {
	body, _ := json.Marshal(map[string]string{"text": text, "client_msg_id": cid})
	deadline := time.Now().Add(sendDeadline)
	for try := 0; time.Now().Before(deadline); try++ {
		status, data, retryAfter, err := c.post(ctx, hc, body)
		if err == nil && (status == http.StatusCreated || status == http.StatusOK) {
			var res struct {
				Message message `json:"message"`
			}
			if json.Unmarshal(data, &res) == nil && res.Message.ID != "" {
				c.book.mu.Lock()
				c.book.acked[cid] = res.Message.ID
				c.book.retries += try
				if status == http.StatusOK {
					c.book.resent++
				}
				c.book.mu.Unlock()
				return
			}
		}
		pause := retryPause
		if status == http.StatusTooManyRequests {
			c.book.mu.Lock()
			c.book.rateLimited++
			c.book.mu.Unlock()
			pause = min(max(retryAfter, pause), time.Second)
		}
		// The pause between retries, not a wait for a result.
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	c.book.mu.Lock()
	c.book.unanswered = append(c.book.unanswered, cid)
	c.book.mu.Unlock()
}

// post tries one send and returns the status, the body and the
// Retry-After the node asked for.
func (c *client) post(ctx context.Context, hc *http.Client, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.node.api+"/v1/rooms/"+room+"/messages", bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.node.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("POST message: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, data, 0, fmt.Errorf("POST message: read answer: %w", err)
	}
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, data, time.Duration(secs) * time.Second, nil
}
