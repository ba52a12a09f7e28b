package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/coder/websocket"
)

// The work floor is the path a chat message must take, done with the bare
// libraries and nothing of ours: HTTP in, an Ed25519 signature, a Pebble
// batch synced to disk, a gossipsub publish; at the receiver a signature
// check, a Pebble batch synced to disk before the message is shown, and
// one WebSocket frame to the client. What peerchat costs beyond it is what
// its own layers add (envelope, validation, rate limits, the event log,
// the API's JSON).

// workFloorPeer is one end of the work floor: a bare gossipsub host, a
// Pebble database and an HTTP server (POST /send on the sender, the
// WebSocket /ws on the receiver).
type workFloorPeer struct {
	gossip *floorMember
	db     *pebble.DB
	key    ed25519.PrivateKey
	srv    *http.Server
	addr   string

	mu      sync.Mutex
	clients []*websocket.Conn // guarded by mu
	seq     uint64            // guarded by mu: the key of the next stored message
}

func newWorkFloorPeer(dir, transport, room string) (*workFloorPeer, error) {
	g, err := newFloorMember(transport, room)
	if err != nil {
		return nil, err
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		g.close()
		return nil, fmt.Errorf("work floor pebble: %w", err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		g.close()
		db.Close()
		return nil, err
	}
	p := &workFloorPeer{gossip: g, db: db, key: key, addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /send", p.send)
	mux.HandleFunc("GET /ws", p.watch)
	p.srv = &http.Server{Handler: mux}
	go p.srv.Serve(ln)
	return p, nil
}

// store writes value under the next key in one batch synced to disk.
func (p *workFloorPeer) store(value []byte) error {
	p.mu.Lock()
	p.seq++
	k := fmt.Appendf(nil, "m/%016x", p.seq)
	p.mu.Unlock()
	b := p.db.NewBatch()
	defer b.Close()
	if err := b.Set(k, value, nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

// send is the sender's POST /send: sign, store synced, publish, answer.
func (p *workFloorPeer) send(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	msg := append(ed25519.Sign(p.key, []byte(body.Text)), body.Text...)
	if err := p.store(msg); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err := p.gossip.topic.Publish(r.Context(), msg); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	sum := sha256.Sum256(msg)
	fmt.Fprintf(w, `{"id":"%x"}`, sum)
}

// watch is the receiver's WebSocket: every message shown is one frame.
func (p *workFloorPeer) watch(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.clients = append(p.clients, c)
	p.mu.Unlock()
	// Hold the connection until the client goes; frames are written by
	// the receive loop.
	c.CloseRead(r.Context())
	<-r.Context().Done()
}

// receive verifies every message gossiped to p, stores it synced and
// shows it: one JSON frame to every client, encoded once.
func (p *workFloorPeer) receive(pub ed25519.PublicKey) {
	p.gossip.receive(func(data string) {
		msg := []byte(data)
		if len(msg) < ed25519.SignatureSize || !ed25519.Verify(pub, msg[ed25519.SignatureSize:], msg[:ed25519.SignatureSize]) {
			return
		}
		if err := p.store(msg); err != nil {
			return
		}
		frame, _ := json.Marshal(map[string]any{"type": "message", "message": map[string]string{"text": string(msg[ed25519.SignatureSize:])}})
		p.mu.Lock()
		clients := append([]*websocket.Conn(nil), p.clients...)
		p.mu.Unlock()
		for _, c := range clients {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c.Write(ctx, websocket.MessageText, frame)
			cancel()
		}
	})
}

func (p *workFloorPeer) close() error {
	p.mu.Lock()
	for _, c := range p.clients {
		c.CloseNow()
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	err = errors.Join(err, p.gossip.close())
	return errors.Join(err, p.db.Close())
}

// workFloor is a sender and a receiver of the work floor, connected, with
// a WebSocket client on the receiver.
type workFloor struct {
	a, b   *workFloorPeer
	ws     *websocket.Conn
	client *http.Client
}

func startWorkFloor(ctx context.Context, workDir, transport string, rec *recorder) (*workFloor, error) {
	var peers [2]*workFloorPeer
	for i := range peers {
		dir, err := tempDir(workDir, fmt.Sprintf("workfloor%d-", i))
		if err != nil {
			return nil, err
		}
		if peers[i], err = newWorkFloorPeer(dir, transport, "bench"); err != nil {
			if i == 1 {
				peers[0].close()
			}
			return nil, err
		}
	}
	f := &workFloor{a: peers[0], b: peers[1], client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}, Timeout: 30 * time.Second}}
	fail := func(err error) (*workFloor, error) { f.close(); return nil, err }
	if err := f.b.gossip.connect(ctx, f.a.gossip.addrs()[0]); err != nil {
		return fail(err)
	}
	f.b.receive(f.a.key.Public().(ed25519.PublicKey))
	ws, _, err := websocket.Dial(ctx, "ws://"+f.b.addr+"/ws", nil)
	if err != nil {
		return fail(fmt.Errorf("dial work floor WebSocket: %w", err))
	}
	ws.SetReadLimit(1 << 20)
	f.ws = ws
	go readMessageTexts(context.Background(), ws, rec.hook(0))
	if err := waitUntil(ctx, 30*time.Second, "the work floor's hosts to meet in the topic", func() bool {
		return f.a.gossip.topicPeers() > 0 && f.b.gossip.topicPeers() > 0
	}); err != nil {
		return fail(err)
	}
	return f, nil
}

// post sends text as a client does: JSON over HTTP to the sender.
func (f *workFloor) post(ctx context.Context, text string) error {
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+f.a.addr+"/send", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST to the work floor: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST to the work floor: %s", resp.Status)
	}
	return nil
}

func (f *workFloor) close() {
	if f.ws != nil {
		f.ws.CloseNow()
	}
	f.a.close()
	f.b.close()
}

// quietPebble drops Pebble's informational logs, which would fill the
// bench's table; errors still end the measurement through the calls.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)           {}
func (quietPebble) Errorf(string, ...any)          {}
func (quietPebble) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
