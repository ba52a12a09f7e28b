package main

// A Jepsen-style check from the outside: three node processes, clients
// posting with client ids and retrying over the documented HTTP API, a
// random node killed with SIGKILL every 2 to 5 seconds and restarted after
// up to a second, and
// resuming event readers on every transport. After the nodes converge it
// classifies what went wrong, if anything; docs/reliability.md reports
// its numbers.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

var (
	jepsenDuration = flag.Duration("jepsen-duration", 25*time.Second, "how long TestJepsen sends and kills; a longer run gives docs/reliability.md its numbers")
	jepsenRate     = flag.Float64("jepsen-rate", 25, "messages a second each TestJepsen client tries to send")
)

const (
	jepsenRoom = "jepsen"
	// convergeTimeout bounds how long the nodes may take to hold the same
	// history once the kills stop; sync runs every 10 s, so a message
	// gossip missed arrives within one period and a reconnect.
	convergeTimeout = 30 * time.Second
)

// jepsenNode is one node of the test: fixed ports, so that a restarted node
// is found where it was, and the same data folder across restarts.
type jepsenNode struct {
	name, dir   string
	api, listen string // host:port of the API; libp2p multiaddr without /p2p
	peerID      string
	token       string
	p           *proc // the running process; only the test goroutine touches it
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs the node and waits until its API answers; peers are the other
// nodes, dialled if their peer ID is known.
func (n *jepsenNode) start(t *testing.T, peers []*jepsenNode) {
	t.Helper()
	args := []string{"--data", n.dir, "--api", n.api, "--listen", n.listen, "--no-mdns", "--name", n.name, "--join", jepsenRoom}
	for _, o := range peers {
		if o != n && o.peerID != "" {
			args = append(args, "--bootstrap", o.listen+"/p2p/"+o.peerID)
		}
	}
	n.p = startProc(t, procSpec{name: n.name, args: args, dataDir: n.dir})
	if n.peerID == "" {
		// Set once, before the readers and clients start; a restart
		// must come back with the same identity and token.
		n.peerID, n.token = n.p.peerID, n.p.token
	} else if n.p.peerID != n.peerID || n.p.token != n.token {
		t.Fatalf("%s came back as peer %s with another token; it was %s", n.name, n.p.peerID, n.peerID)
	}
}

// jepsenClient posts messages to one node, each with a fresh
// client_msg_id, retrying each until the node acknowledges it. It never
// retries on another node: a client_msg_id is one author's, and another
// node is another author.
type jepsenClient struct {
	id   int
	node *jepsenNode
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

func (c *jepsenClient) run(stop <-chan struct{}, rate float64) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	every := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Until(next)):
		}
		next = next.Add(every)
		cid := fmt.Sprintf("c%d-%06d", c.id, i)
		text := "jepsen " + cid
		c.book.mu.Lock()
		c.book.attempted[cid] = text
		c.book.mu.Unlock()
		c.send(client, cid, text)
	}
}

// send posts one message until it is acknowledged, for at most two
// minutes. A try cut off by a kill has an unknown outcome; the retry with
// the same client_msg_id settles it.
func (c *jepsenClient) send(client *http.Client, cid, text string) {
	body, _ := json.Marshal(map[string]string{"text": text, "client_msg_id": cid})
	deadline := time.Now().Add(2 * time.Minute)
	for try := 0; time.Now().Before(deadline); try++ {
		status, data, retryAfter, err := c.post(client, body)
		if err == nil && (status == http.StatusCreated || status == http.StatusOK) {
			var res postResult
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
		wait := reconnectDelay
		if status == http.StatusTooManyRequests {
			c.book.mu.Lock()
			c.book.rateLimited++
			c.book.mu.Unlock()
			wait = min(max(retryAfter, wait), time.Second)
		}
		time.Sleep(wait) // the pause between retries, not a wait for a condition
	}
	c.book.mu.Lock()
	c.book.unanswered = append(c.book.unanswered, cid)
	c.book.mu.Unlock()
}

func (c *jepsenClient) post(client *http.Client, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequest("POST", "http://"+c.node.api+"/v1/rooms/"+jepsenRoom+"/messages", bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.node.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, data, 0, err
	}
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, data, time.Duration(secs) * time.Second, nil
}

// TestJepsenKill9WithResumingReadersLosesAndRepeatsNothing runs three
// nodes under clients that send with client ids and retries, kills a
// random node with SIGKILL every 2 to 5 seconds and restarts it within a
// second, and
// follows every node's event log with a resuming reader on each
// transport. Once the kills stop and the nodes converge, it counts
// acknowledged messages lost, messages stored twice, unexpected messages,
// message events given twice to a reader and message events a reader
// never got; every count must be 0.
func TestJepsenKill9WithResumingReadersLosesAndRepeatsNothing(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>9))
	t.Logf("seed %d, %v of sends and kills at %.0f messages a second per client", seed, *jepsenDuration, *jepsenRate)

	nodes := make([]*jepsenNode, 3)
	for i := range nodes {
		name := fmt.Sprintf("jepsen-%c", 'a'+i)
		nodes[i] = &jepsenNode{
			name:   name,
			dir:    filepath.Join(t.TempDir(), name),
			api:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			listen: fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)),
		}
		nodes[i].start(t, nodes[:i])
	}
	eventually(t, 30*time.Second, 50*time.Millisecond, func() string {
		for _, n := range nodes {
			if got := roomPeers(n); got < 2 {
				return fmt.Sprintf("%s has %d peers in the room, want 2", n.name, got)
			}
		}
		return ""
	})

	ctx, stopReaders := context.WithCancel(context.Background())
	var readers []*eventReader
	var readerWG sync.WaitGroup
	defer func() {
		stopReaders()
		readerWG.Wait()
	}()
	for _, n := range nodes {
		for _, tr := range []string{"ws", "sse", "poll"} {
			r := newEventReader(tr, n)
			readers = append(readers, r)
			readerWG.Go(func() { r.run(ctx) })
		}
	}

	book := &sendBook{attempted: map[string]string{}, acked: map[string]string{}}
	stopSends := make(chan struct{})
	var clientWG sync.WaitGroup
	var stopOnce sync.Once
	stopClients := func() {
		stopOnce.Do(func() { close(stopSends) })
		clientWG.Wait()
	}
	defer stopClients()
	for i, n := range nodes {
		c := &jepsenClient{id: i, node: n, book: book}
		clientWG.Go(func() { c.run(stopSends, *jepsenRate) })
	}

	// The chaos: the test goroutine kills and restarts, because starting
	// a process may fail the test.
	kills := 0
	var down time.Duration // from SIGKILL until the API answers again, summed
	end := time.Now().Add(*jepsenDuration)
	var lastRestart time.Time
	for {
		pause := 2*time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
		if time.Now().Add(pause).After(end) {
			break
		}
		<-time.After(pause) // the schedule itself, not a wait for a condition
		n := nodes[rng.IntN(len(nodes))]
		killed := time.Now()
		n.p.kill()
		kills++
		// Down for up to a second: its clients meet refused connections
		// and retry, its readers redial, and the others move on without it.
		<-time.After(time.Duration(rng.Int64N(int64(time.Second))))
		n.start(t, nodes)
		lastRestart = time.Now()
		down += lastRestart.Sub(killed)
	}
	<-time.After(time.Until(end))
	stopClients()
	stopped := time.Now()

	// Convergence: every node holds every acknowledged message, and the
	// same messages as the others.
	var histories [][]apiMessage
	var converged time.Duration
	eventually(t, convergeTimeout, 100*time.Millisecond, func() string {
		histories = histories[:0]
		for _, n := range nodes {
			histories = append(histories, n.p.history(jepsenRoom))
		}
		if why := sameAndComplete(histories, book.acked, nodes); why != "" {
			return why
		}
		converged = time.Since(stopped)
		return ""
	})
	// Every reader gets every message its node holds; allow the events a
	// flush is still holding back to come out.
	eventually(t, 20*time.Second, 50*time.Millisecond, func() string {
		for i, r := range readers {
			if missing := missedBy(r, histories[i/3]); missing > 0 {
				return fmt.Sprintf("%s has not been given %d messages", r, missing)
			}
		}
		return ""
	})
	stopReaders()
	readerWG.Wait()

	report := classify(t, book, histories, readers, nodes)
	t.Logf("sends: %d attempted, %d acknowledged, %d retries, %d answered 429, %d answered 200 (stored by an earlier try); kills: %d, down %v on average; converged %v after the sends stopped (%v after the last restart)",
		len(book.attempted), len(book.acked), book.retries, book.rateLimited, book.resent, kills, (down / time.Duration(max(kills, 1))).Round(time.Millisecond), converged.Round(time.Millisecond), time.Since(lastRestart).Round(time.Millisecond))
	t.Logf("lost %d, stored twice %d, unexpected %d, duplicate events %d, missed events %d, refused resumes %d, seq gaps %d",
		report.lost, report.storedTwice, report.unexpected, report.duplicates, report.missed, report.refused, report.gaps)
	for _, line := range report.perTransport() {
		t.Log(line)
	}
	if kills == 0 || len(book.acked) == 0 {
		t.Errorf("the run had %d kills and %d acknowledged sends; it proves nothing", kills, len(book.acked))
	}
	if len(book.unanswered) > 0 {
		t.Errorf("%d sends were never acknowledged, such as %v", len(book.unanswered), book.unanswered[:min(5, len(book.unanswered))])
	}
	for _, c := range []struct {
		what string
		n    int
	}{{"acknowledged messages lost", report.lost}, {"messages stored twice", report.storedTwice}, {"unexpected messages", report.unexpected},
		{"duplicate message events", report.duplicates}, {"missed message events", report.missed}, {"refused resumes", report.refused}, {"seq gaps", report.gaps}} {
		if c.n != 0 {
			t.Errorf("%d %s, want 0", c.n, c.what)
		}
	}
	for _, ex := range report.examples {
		t.Log(ex)
	}
}

// roomPeers returns how many peers n sees in the test room, or 0.
func roomPeers(n *jepsenNode) int {
	status, data, err := n.p.do("GET", "/v1/rooms", nil)
	if err != nil || status != http.StatusOK {
		return 0
	}
	var out struct {
		Rooms []struct {
			Room  string `json:"room"`
			Peers int    `json:"peers"`
		} `json:"rooms"`
	}
	if json.Unmarshal(data, &out) != nil {
		return 0
	}
	for _, r := range out.Rooms {
		if r.Room == jepsenRoom {
			return r.Peers
		}
	}
	return 0
}

// sameAndComplete explains why the histories have not converged yet, or
// returns "".
func sameAndComplete(histories [][]apiMessage, acked map[string]string, nodes []*jepsenNode) string {
	for i, h := range histories {
		ids := map[string]bool{}
		for _, m := range h {
			ids[m.ID] = true
		}
		missing := 0
		for _, id := range acked {
			if !ids[id] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Sprintf("%s lacks %d acknowledged messages", nodes[i].name, missing)
		}
		if len(h) != len(histories[0]) {
			return fmt.Sprintf("%s holds %d messages, %s %d", nodes[i].name, len(h), nodes[0].name, len(histories[0]))
		}
	}
	return ""
}

// missedBy counts the messages of history that r was never given.
func missedBy(r *eventReader, history []apiMessage) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	missing := 0
	for _, m := range history {
		if r.got[m.ID] == 0 {
			missing++
		}
	}
	return missing
}

type jepsenReport struct {
	lost, storedTwice, unexpected int
	duplicates, missed            int
	refused, gaps                 int
	byTransport                   map[string][4]int // events given, message events, reconnects, duplicates+missed
	examples                      []string
}

func (r *jepsenReport) perTransport() []string {
	var out []string
	for _, tr := range []string{"ws", "sse", "poll"} {
		v := r.byTransport[tr]
		out = append(out, fmt.Sprintf("%s readers (3): %d events given, %d message events, %d reconnects, %d duplicate or missed", tr, v[0], v[1], v[2], v[3]))
	}
	return out
}

func (r *jepsenReport) example(format string, args ...any) {
	if len(r.examples) < 20 {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

// classify compares what the clients did, what the nodes hold and what
// the readers were given.
func classify(t *testing.T, book *sendBook, histories [][]apiMessage, readers []*eventReader, nodes []*jepsenNode) *jepsenReport {
	t.Helper()
	rep := &jepsenReport{byTransport: map[string][4]int{}}
	for i, h := range histories {
		byID := map[string]bool{}
		byCID := map[string][]string{}
		for _, m := range h {
			byID[m.ID] = true
			text, tried := book.attempted[m.ClientMsgID]
			if m.ClientMsgID == "" || !tried || m.Text != text {
				rep.unexpected++
				rep.example("%s holds an unexpected message %s %q (client_msg_id %q)", nodes[i].name, m.ID, m.Text, m.ClientMsgID)
				continue
			}
			byCID[m.ClientMsgID] = append(byCID[m.ClientMsgID], m.ID)
		}
		for cid, id := range book.acked {
			if !byID[id] {
				rep.lost++
				rep.example("%s lost acknowledged message %s (%s)", nodes[i].name, id, cid)
			}
		}
		cids := make([]string, 0, len(byCID))
		for cid := range byCID {
			cids = append(cids, cid)
		}
		sort.Strings(cids)
		for _, cid := range cids {
			if ids := byCID[cid]; len(ids) > 1 {
				rep.storedTwice += len(ids) - 1
				rep.example("%s stores %s %d times: %v", nodes[i].name, cid, len(ids), ids)
			}
		}
	}
	for i, r := range readers {
		r.mu.Lock()
		dup, miss := r.replayed, 0
		for id, n := range r.got {
			if n > 1 {
				dup += n - 1
				rep.example("%s was given message %s %d times", r, id, n)
			}
		}
		for _, m := range histories[i/3] {
			if r.got[m.ID] == 0 {
				miss++
				rep.example("%s was never given message %s", r, m.ID)
			}
		}
		messages := 0
		for _, n := range r.got {
			messages += n
		}
		rep.duplicates += dup
		rep.missed += miss
		rep.refused += len(r.refused)
		rep.gaps += int(r.gapped)
		for _, ref := range r.refused {
			rep.example("%s was refused a resume: %s", r, ref)
		}
		v := rep.byTransport[r.transport]
		rep.byTransport[r.transport] = [4]int{v[0] + r.events, v[1] + messages, v[2] + r.reconnects, v[3] + dup + miss}
		r.mu.Unlock()
	}
	return rep
}
