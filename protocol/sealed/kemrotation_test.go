package sealed

import (
	"bytes"
	"errors"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

// announce seals p's key announcement in k's head epoch.
func announce(t testing.TB, k *Keyring, p *ident, c *clock, pt []byte) *protocol.Envelope {
	t.Helper()
	l, at := c.next()
	h := Header{Kind: protocol.KindSealedKeys, Room: k.Room(), Author: p.id, Lamport: l, SentAt: at}
	body, err := k.Seal(h, pt)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, p, &clock{lamport: l - 1}, h.Kind, h.Room, body)
}

func TestRotatedKEMKeyTakesLaterWrapsAndTheOldKeyOpensNoneOfThem(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	bob := newIdent(t, "bob")
	kb := NewKeyring(r.ko.Room(), bob.id, bob.kem)
	r.sync(kb)
	a := admit1(t, kb, r.publish(r.ko.Add(bob.member())))
	if !a.Wrapped {
		t.Fatal("the joiner's secret did not come from its wrap")
	}
	newKEM, pt, err := kb.RotateKEM()
	if err != nil {
		t.Fatal(err)
	}
	e := announce(t, kb, bob, &r.c, pt)
	if _, err := r.ko.Chain().CheckWrite(e); err != nil {
		t.Fatalf("relay check of a key announcement: %v", err)
	}
	opened, _, err := r.ko.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ko.NoteKEM(e, opened); err != nil {
		t.Fatal(err)
	}
	rot := r.publish(r.ko.Rotate())
	if s, _ := r.ko.State(); !bytes.Equal(s.Members[1].KEM, newKEM.PublicKey().Bytes()) {
		t.Fatal("the rotation does not list bob's new key")
	}
	if a := admit1(t, kb, rot); !a.Held {
		t.Fatal("bob does not hold the epoch wrapped to his new key")
	}
	if len(kb.KEMs()) != 1 || !kb.KEMs()[0].Equal(newKEM) {
		t.Fatalf("bob kept %d KEM keys after the owner listed the new one", len(kb.KEMs()))
	}
	// A thief with bob's old KEM key and a relay's copies opens nothing new.
	thief := NewKeyring(r.ko.Room(), bob.id, bob.kem)
	r.sync(thief)
	if _, ok := thief.HeadKeys(); ok {
		t.Fatal("the old KEM key opened the epoch after the rotation")
	}
}

func TestKeyAnnouncementOfANonMemberIsRefused(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	bob := newIdent(t, "bob")
	kb := NewKeyring(r.ko.Room(), bob.id, bob.kem)
	r.sync(kb)
	r.publish(r.ko.Add(bob.member()))
	r.sync(kb)
	_, pt, _ := kb.RotateKEM()
	e := announce(t, kb, bob, &r.c, pt)
	r.publish(r.ko.Remove(Removal{Peer: bob.id, Cutoff: e.Lamport}))
	if err := r.ko.NoteKEM(e, pt); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("announcement of a removed member: %v", err)
	}
	if err := r.ko.NoteKEM(e, pt[:5]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short announcement: %v", err)
	}
}

func admit1(t testing.TB, k *Keyring, e *protocol.Envelope) Adoption {
	t.Helper()
	a, err := k.AdmitEpoch(e)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
