package private

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// network is the test's stand-in for gossip and a store relay: every
// published envelope is appended to one log, and a node reads the log
// from where it last stopped when it syncs. A node that does not sync is
// offline.
type network struct {
	mu      sync.Mutex
	lamport uint64
	log     []*protocol.Envelope
	now     time.Time
}

func newNetwork() *network {
	return &network{now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
}

func (n *network) clock() (uint64, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lamport++
	return n.lamport, n.now.Add(time.Duration(n.lamport) * time.Millisecond)
}

func (n *network) Now() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.now
}

func (n *network) advance(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.now = n.now.Add(d)
}

func (n *network) entries(from int) []*protocol.Envelope {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*protocol.Envelope(nil), n.log[from:]...)
}

// node is one test node: its key, a real store on disk and the role.
type node struct {
	t    testing.TB
	name string
	key  crypto.PrivKey
	id   peer.ID
	dir  string
	st   *store.Store
	p    *Private
	net  *network
	seen int // how much of the log this node has read

	outcomes []Outcome
	refusals []error
}

func newNode(t testing.TB, net *network, name string) *node {
	t.Helper()
	seed := sha256.Sum256([]byte("private test " + name))
	key, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(key)
	n := &node{t: t, name: name, key: key, id: id, dir: t.TempDir(), net: net}
	n.open()
	t.Cleanup(func() { n.st.Close() })
	return n
}

// open opens the node's store and a fresh role over it, as a start does.
func (n *node) open() {
	n.t.Helper()
	st, err := store.Open(n.dir, store.Options{MinFreeBytes: -1})
	if err != nil {
		n.t.Fatal(err)
	}
	p, err := New(Config{Key: n.key, Store: st, Publisher: n, Now: n.net.Now})
	if err != nil {
		n.t.Fatal(err)
	}
	if err := p.Load(context.Background()); err != nil {
		n.t.Fatal(err)
	}
	n.st, n.p = st, p
}

// restart closes the store and opens it again with a new role.
func (n *node) restart() {
	n.t.Helper()
	if err := n.st.Close(); err != nil {
		n.t.Fatal(err)
	}
	n.open()
}

// Publish is the node's Publisher: it signs as the sender role would and
// appends the envelope to the network's log.
func (n *node) Publish(_ context.Context, kind, room string, body func(sealed.Header) ([]byte, error)) (*protocol.Envelope, error) {
	l, at := n.net.clock()
	b, err := body(sealed.Header{Kind: kind, Room: room, Author: n.id, Lamport: l, SentAt: at})
	if err != nil {
		return nil, err
	}
	e := &protocol.Envelope{Kind: kind, Room: room, Lamport: l, SentAt: at, Body: b}
	if err := e.Sign(n.key); err != nil {
		return nil, err
	}
	d, err := protocol.Decode(e.Bytes())
	if err != nil {
		return nil, err
	}
	n.net.mu.Lock()
	n.net.log = append(n.net.log, d)
	n.net.mu.Unlock()
	return d, nil
}

// sync reads the log from where the node stopped, through Check and
// Accept as intake would, and returns the texts that opened.
func (n *node) sync() []string {
	n.t.Helper()
	var texts []string
	for _, e := range n.net.entries(n.seen) {
		n.seen++
		if err := n.p.Check(e); err != nil {
			n.refusals = append(n.refusals, err)
			continue
		}
		out, err := n.p.Accept(context.Background(), e)
		if err != nil {
			n.refusals = append(n.refusals, err)
		}
		n.outcomes = append(n.outcomes, out)
		for _, o := range out.Opened {
			texts = append(texts, string(o.Plaintext))
		}
	}
	return texts
}

func (n *node) send(room, text string) *protocol.Envelope {
	n.t.Helper()
	e, err := n.p.Send(context.Background(), room, []byte(text))
	if err != nil {
		n.t.Fatalf("%s sends to %s: %v", n.name, room, err)
	}
	return e
}

// joined reports whether any outcome so far said Joined.
func (n *node) joined() bool {
	for _, o := range n.outcomes {
		if o.Joined {
			return true
		}
	}
	return false
}
