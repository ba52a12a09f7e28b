package sealed

import (
	"bytes"
	"errors"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

func TestMembersOpenWhatAMemberSealed(t *testing.T) {
	owner, bob := newIdent(t, "owner"), newIdent(t, "bob")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	kb := NewKeyring(ko.Room(), bob.id, bob.kem)
	admit(t, g, kb)
	add := sign(t, owner, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Add(bob.member())))
	admit(t, add, ko, kb)

	e := send(t, kb, bob, &c, `{"text":"hello"}`)
	pt, r, err := ko.Open(e)
	if err != nil || string(pt) != `{"text":"hello"}` || r.Number != 1 {
		t.Fatalf("owner opened %q in epoch %v: %v", pt, r, err)
	}
}

func TestIdenticalTextsGiveDifferentCiphertexts(t *testing.T) {
	owner := newIdent(t, "owner")
	var c clock
	ko, _ := ownedRoom(t, owner, &c, HistoryFromJoin)
	keys, _ := ko.HeadKeys()
	h := Header{Kind: protocol.KindSealedMessage, Room: ko.Room(), Author: owner.id, Lamport: 5, SentAt: testEpoch}
	a, _ := Seal(keys, h, []byte("same"))
	b, _ := Seal(keys, h, []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one text are equal")
	}
}

func TestCiphertextReSignedByAnotherAuthorFailsItsWriteSignature(t *testing.T) {
	owner, bob, mallory := newIdent(t, "owner"), newIdent(t, "bob"), newIdent(t, "mallory")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	kb := NewKeyring(ko.Room(), bob.id, bob.kem)
	admit(t, g, kb)
	add := sign(t, owner, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Add(bob.member())))
	admit(t, add, ko, kb)

	orig := send(t, ko, owner, &c, "from the owner")
	// Bob, a member, re-posts the owner's ciphertext under his own name.
	copyByBob := sign(t, bob, &c, protocol.KindSealedMessage, ko.Room(), orig.Body)
	if _, err := kb.Chain().CheckWrite(copyByBob); !errors.Is(err, ErrWriteSignature) {
		t.Fatalf("relay check of a re-signed copy: %v, want ErrWriteSignature", err)
	}
	if _, _, err := kb.Open(copyByBob); !errors.Is(err, ErrWriteSignature) {
		t.Fatalf("member open of a re-signed copy: %v", err)
	}
	// An outsider with the room's name but no key.
	junk := make([]byte, len(orig.Body))
	copy(junk, orig.Body[:1+EpochIDSize])
	spam := sign(t, mallory, &c, protocol.KindSealedMessage, ko.Room(), junk)
	if _, err := NewChainFrom(t, g, add).CheckWrite(spam); !errors.Is(err, ErrWriteSignature) {
		t.Fatalf("outsider's ciphertext: %v, want ErrWriteSignature", err)
	}
}

func TestBodyBoundToItsHeaderDoesNotOpenUnderAnother(t *testing.T) {
	owner := newIdent(t, "owner")
	var c clock
	ko, _ := ownedRoom(t, owner, &c, HistoryFromJoin)
	keys, _ := ko.HeadKeys()
	h := Header{Kind: protocol.KindSealedMessage, Room: ko.Room(), Author: owner.id, Lamport: 7, SentAt: testEpoch}
	body, err := Seal(keys, h, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, alt := range []Header{
		{Kind: "sealed.other", Room: h.Room, Author: h.Author, Lamport: 7, SentAt: testEpoch},
		{Kind: h.Kind, Room: h.Room, Author: h.Author, Lamport: 8, SentAt: testEpoch},
		{Kind: h.Kind, Room: h.Room, Author: h.Author, Lamport: 7, SentAt: testEpoch.Add(1e6)},
	} {
		if _, err := Open(keys, alt, body); !errors.Is(err, ErrWriteSignature) {
			t.Errorf("opened under %+v: %v", alt, err)
		}
	}
	flipped := bytes.Clone(body)
	flipped[bodyHeaderSize] ^= 1
	if _, err := Open(keys, h, flipped); err == nil {
		t.Error("a flipped ciphertext opened")
	}
}

// NewChainFrom returns a relay's chain that admitted the given epochs.
func NewChainFrom(t testing.TB, epochs ...*protocol.Envelope) *Chain {
	t.Helper()
	c := NewChain(epochs[0].Room)
	for _, e := range epochs {
		if _, _, err := c.AdmitEpoch(e); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
