package sealed

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// TestConformanceToVectors checks this implementation against
// testdata/vectors.json alone: a second implementation passing the same
// checks interoperates.
func TestConformanceToVectors(t *testing.T) {
	raw, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Schedule) == 0 || len(v.Bodies) == 0 || len(v.Chains) == 0 || len(v.Invites) == 0 || len(v.Joins) == 0 || len(v.DMs) == 0 {
		t.Fatal("vectors incomplete")
	}
	for _, rv := range v.RoomNames {
		owner, err := peer.Decode(rv.Owner)
		if err != nil {
			t.Fatal(err)
		}
		if got := RoomName(owner, rv.Salt); got != rv.Room {
			t.Errorf("room name %s, want %s", got, rv.Room)
		}
	}
	for _, s := range v.Schedule {
		k := DeriveEpoch(s.Room, 0, [SecretSize]byte(s.Secret))
		if !bytes.Equal(k.Message[:], s.MessageKey) || !bytes.Equal(k.State[:], s.StateKey) || !bytes.Equal(k.WritePub, s.WritePub) || !bytes.Equal(k.ID[:], s.EpochID) {
			t.Errorf("key schedule of secret %x differs", s.Secret)
		}
	}
	for _, a := range v.AddRatchets {
		if got := AddSecret(a.Room, [SecretSize]byte(a.Prev), a.Ratchet); !bytes.Equal(got[:], a.Next) {
			t.Errorf("add ratchet %x, want %x", got, a.Next)
		}
	}
	for _, p := range v.Padding {
		if got := paddedLen(p.Plaintext + 2); got != p.Padded {
			t.Errorf("padding of %d: %d, want %d", p.Plaintext, got, p.Padded)
		}
	}
	for _, b := range v.Bodies {
		conformBody(t, b)
	}
	for _, c := range v.Chains {
		conformChain(t, c)
	}
	for _, d := range v.DMs {
		ka, kb := keyFromSeed(t, d.SeedA), keyFromSeed(t, d.SeedB)
		ida, _ := peerOf(ka)
		idb, _ := peerOf(kb)
		for _, side := range []struct {
			key   crypto.PrivKey
			other peer.ID
		}{{ka, idb}, {kb, ida}} {
			dm, err := DeriveDM(side.key, side.other)
			if err != nil || dm.Room != d.Room || !bytes.Equal(dm.Salt, d.Salt) || !bytes.Equal(dm.Secret[:], d.Secret) {
				t.Errorf("direct room %+v, %v", dm, err)
			}
		}
	}
	for _, iv := range v.Invites {
		inv, err := ParseInvite(iv.Link)
		if err != nil {
			t.Fatal(err)
		}
		id := inv.ID()
		if inv.Room != iv.Room || inv.Owner.String() != iv.Owner || !bytes.Equal(inv.Code[:], iv.Code) || !bytes.Equal(inv.OwnerKEM, iv.OwnerKEM) ||
			inv.Expires.Unix() != iv.Expires || !bytes.Equal(id[:], iv.ID) || len(inv.Relays) != len(iv.Relays) {
			t.Errorf("invite %s read as %+v", iv.Link, inv)
		}
	}
	for _, j := range v.Joins {
		inv, err := ParseInvite(j.Invite)
		if err != nil {
			t.Fatal(err)
		}
		kem, err := ecdh.X25519().NewPrivateKey(j.OwnerKEM)
		if err != nil {
			t.Fatal(err)
		}
		e, err := protocol.Decode(j.Envelope)
		if err != nil {
			t.Fatal(err)
		}
		req, err := OpenJoin(inv, kem, e)
		if err != nil || !bytes.Equal(req.KEM, j.JoinerKEM) || req.Name != j.JoinerName {
			t.Errorf("join request %+v, %v", req, err)
		}
	}
}

func conformBody(t *testing.T, b bodyVec) {
	t.Helper()
	author, err := peer.Decode(b.Author)
	if err != nil {
		t.Fatal(err)
	}
	k := DeriveEpoch(b.Room, 0, [SecretSize]byte(b.Secret))
	h := Header{Kind: b.Kind, Room: b.Room, Author: author, Lamport: b.Lamport, SentAt: time.UnixMilli(b.SentAtMS)}
	if !bytes.Equal(h.aad(k.ID), b.AAD) {
		t.Errorf("associated data %x, want %x", h.aad(k.ID), b.AAD)
	}
	body, err := sealWithNonce(k, h, []byte(b.Plaintext), [NonceSize]byte(b.Nonce))
	if err != nil || !bytes.Equal(body, b.Body) {
		t.Errorf("sealed body %x (%v), want %x", body, err, b.Body)
	}
	pt, err := Open(k, h, b.Body)
	if err != nil || string(pt) != b.Plaintext {
		t.Errorf("opened %q, %v", pt, err)
	}
}

func conformChain(t *testing.T, c chainVec) {
	t.Helper()
	self, err := peer.Decode(c.Member)
	if err != nil {
		t.Fatal(err)
	}
	kem, err := ecdh.X25519().NewPrivateKey(c.MemberKEM)
	if err != nil {
		t.Fatal(err)
	}
	k := NewKeyring(c.Room, self, kem)
	for i, raw := range c.Envelopes {
		e, err := protocol.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		a, err := k.AdmitEpoch(e)
		if err != nil {
			t.Fatalf("%s epoch %d: %v", c.Member, i, err)
		}
		keys, held := k.Held(a.Record.ID)
		if want := c.Secrets[i]; held != (len(want) > 0) || held && !bytes.Equal(keys.Secret[:], want) {
			t.Errorf("%s epoch %d: held %v, want secret %x", c.Member, i, held, want)
		}
	}
	if s, ok := k.State(); ok && s.Name != c.Name {
		t.Errorf("display name %q, want %q", s.Name, c.Name)
	}
}

// keyFromSeed returns the Ed25519 libp2p key of a 32-byte seed.
func keyFromSeed(t testing.TB, seed []byte) crypto.PrivKey {
	t.Helper()
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func peerOf(k crypto.PrivKey) (peer.ID, error) { return peer.IDFromPrivateKey(k) }
