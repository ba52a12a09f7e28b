package sealed

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// ident is a test identity: a libp2p key, its peer ID and a KEM key.
type ident struct {
	key crypto.PrivKey
	id  peer.ID
	kem *ecdh.PrivateKey
}

// newIdent returns the identity derived from name, the same in every run.
func newIdent(t testing.TB, name string) *ident {
	t.Helper()
	seed := sha256.Sum256([]byte("identity " + name))
	key, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	kseed := sha256.Sum256([]byte("kem " + name))
	kem, err := ecdh.X25519().NewPrivateKey(kseed[:])
	if err != nil {
		t.Fatal(err)
	}
	return &ident{key: key, id: id, kem: kem}
}

func (p *ident) member() Member { return Member{Peer: p.id, KEM: p.kem.PublicKey().Bytes()} }

// clock hands out Lamport clocks and send times.
type clock struct{ lamport uint64 }

var testEpoch = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func (c *clock) next() (uint64, time.Time) {
	c.lamport++
	return c.lamport, testEpoch.Add(time.Duration(c.lamport) * time.Second)
}

// sign signs an envelope of kind in room with body as p and decodes it
// back as a receiver would, so tests see what the wire carries.
func sign(t testing.TB, p *ident, c *clock, kind, room string, body []byte) *protocol.Envelope {
	t.Helper()
	l, at := c.next()
	e := &protocol.Envelope{Kind: kind, Room: room, Lamport: l, SentAt: at, Body: body}
	if err := e.Sign(p.key); err != nil {
		t.Fatal(err)
	}
	d, err := protocol.Decode(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// send seals text in k's head epoch as p and returns the envelope.
func send(t testing.TB, k *Keyring, p *ident, c *clock, text string) *protocol.Envelope {
	t.Helper()
	l, at := c.next()
	h := Header{Kind: protocol.KindSealedMessage, Room: k.Room(), Author: p.id, Lamport: l, SentAt: at}
	body, err := k.Seal(h, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	e := &protocol.Envelope{Kind: h.Kind, Room: h.Room, Lamport: l, SentAt: at, Body: body}
	if err := e.Sign(p.key); err != nil {
		t.Fatal(err)
	}
	d, err := protocol.Decode(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// admit admits e into every keyring, failing the test on an error.
func admit(t testing.TB, e *protocol.Envelope, ks ...*Keyring) {
	t.Helper()
	for _, k := range ks {
		if _, err := k.AdmitEpoch(e); err != nil {
			t.Fatalf("admit epoch into keyring of %s: %v", k.self, err)
		}
	}
}

// ownedRoom creates a room owned by owner and admits its genesis.
func ownedRoom(t testing.TB, owner *ident, c *clock, history History) (*Keyring, *protocol.Envelope) {
	t.Helper()
	k, body, err := CreateRoom(owner.id, owner.kem, "family", history)
	if err != nil {
		t.Fatal(err)
	}
	g := sign(t, owner, c, protocol.KindSealedEpoch, k.Room(), body)
	admit(t, g, k)
	return k, g
}
