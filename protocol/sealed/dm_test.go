package sealed

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

func TestX25519FromEd25519PublicMatchesThePrivateConversion(t *testing.T) {
	for _, name := range []string{"a", "b", "c", "d"} {
		p := newIdent(t, name)
		raw, _ := p.key.Raw()
		priv, err := X25519FromEd25519Private(ed25519.PrivateKey(raw))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := X25519FromEd25519Public(ed25519.PrivateKey(raw).Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(priv.PublicKey().Bytes(), pub.Bytes()) {
			t.Fatalf("%s: converted public key differs from the converted private key's", name)
		}
	}
}

func TestSmallOrderEd25519KeyIsRefusedForDirectRooms(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1 // the encoding of the identity point
	if _, err := X25519FromEd25519Public(identity); err == nil {
		t.Fatal("identity point accepted")
	}
}

func TestBothPartiesDeriveTheSameDirectRoomAndRead(t *testing.T) {
	alice, bob := newIdent(t, "alice"), newIdent(t, "bob")
	da, err := DeriveDM(alice.key, bob.id)
	if err != nil {
		t.Fatal(err)
	}
	db, err := DeriveDM(bob.key, alice.id)
	if err != nil {
		t.Fatal(err)
	}
	if da.Room != db.Room || da.Secret != db.Secret || !IsPrivateRoom(da.Room) {
		t.Fatalf("rooms %s and %s", da.Room, db.Room)
	}
	carol := newIdent(t, "carol")
	if dc, _ := DeriveDM(alice.key, carol.id); dc.Room == da.Room {
		t.Fatal("two pairs share a direct room")
	}
	var c clock
	ka, ga, err := da.Genesis(alice.id, alice.kem)
	if err != nil {
		t.Fatal(err)
	}
	kb, gb, err := db.Genesis(bob.id, bob.kem)
	if err != nil {
		t.Fatal(err)
	}
	// Both publish the genesis: the second copy is a duplicate everywhere.
	ea := sign(t, alice, &c, protocol.KindSealedEpoch, da.Room, ga)
	eb := sign(t, bob, &c, protocol.KindSealedEpoch, db.Room, gb)
	admit(t, ea, ka, kb)
	admit(t, eb, ka, kb)
	relay := NewChainFrom(t, eb, ea)
	m := send(t, kb, bob, &c, "hi alice")
	if _, err := relay.CheckWrite(m); err != nil {
		t.Fatal(err)
	}
	if pt, _, err := ka.Open(m); err != nil || string(pt) != "hi alice" {
		t.Fatalf("alice read %q, %v", pt, err)
	}
	// An outsider who learned the room cannot write its genesis.
	byCarol := sign(t, carol, &c, protocol.KindSealedEpoch, da.Room, ga)
	if _, _, err := NewChain(da.Room).AdmitEpoch(byCarol); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("outsider's genesis: %v", err)
	}
}
