package sealed

import (
	"bytes"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

// fuzzRoom returns a small room's epochs and a message of it, as seeds.
func fuzzRoom(f *testing.F) (*room, *protocol.Envelope) {
	r := newRoom(f, HistoryShared)
	bob := newIdent(f, "bob")
	r.publish(r.ko.Add(bob.member()))
	r.publish(r.ko.Remove(Removal{Peer: bob.id, Cutoff: 3}))
	r.publish(r.ko.Rotate())
	return r, send(f, r.ko, r.owner, &r.c, `{"text":"seed"}`)
}

// FuzzDecodeRecord feeds arbitrary bytes to the epoch record decoder: it
// must never panic, and whatever it accepts must re-encode to the same
// bytes, so a record has one encoding and relays agree on its validity.
func FuzzDecodeRecord(f *testing.F) {
	r, _ := fuzzRoom(f)
	for _, e := range r.epochs {
		f.Add(e.Body)
	}
	alice, bob := newIdent(f, "alice"), newIdent(f, "bob")
	dm, _ := DeriveDM(alice.key, bob.id)
	_, g, _ := dm.Genesis(alice.id, alice.kem)
	f.Add(g)
	f.Add([]byte{Version, byte(ReasonRotate), 0x80, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := DecodeRecord(data)
		if err != nil {
			return
		}
		again, err := rec.Encode()
		if err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted %x, which re-encodes as %x", data, again)
		}
	})
}

// FuzzOpenBody feeds arbitrary sealed bodies to a member of the room and
// to a relay's chain: neither may panic, and a body that opens must have
// passed the relay's write check.
func FuzzOpenBody(f *testing.F) {
	r, m := fuzzRoom(f)
	f.Add(m.Body)
	f.Add(m.Body[:BodyOverhead])
	f.Add([]byte{Version})
	relay := NewChainFrom(f, r.epochs...)
	f.Fuzz(func(t *testing.T, body []byte) {
		e := &protocol.Envelope{Kind: protocol.KindSealedMessage, Room: m.Room, Author: m.Author, Lamport: m.Lamport, SentAt: m.SentAt, Body: body}
		_, relayErr := relay.CheckWrite(e)
		if _, _, err := r.ko.Open(e); err == nil && relayErr != nil {
			t.Fatalf("member opened a body the relay refused: %v", relayErr)
		}
		if b, err := ParseBody(body); err == nil && len(b.WriteSig) != writeSigSize {
			t.Fatalf("parsed a write signature of %d bytes", len(b.WriteSig))
		}
	})
}

// FuzzUnpad checks that unpad never panics and accepts only what pad
// writes.
func FuzzUnpad(f *testing.F) {
	p, _ := pad([]byte("hello"))
	f.Add(p)
	f.Add([]byte{0, 40, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		pt, err := unpad(data)
		if err != nil {
			return
		}
		again, err := pad(pt)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("unpad accepted %x, which pads back as %x (%v)", data, again, err)
		}
	})
}

// FuzzParseWrapPlaintext checks the decoder of what a wrap carries.
func FuzzParseWrapPlaintext(f *testing.F) {
	f.Add(wrapPlaintext([SecretSize]byte{1}, []HistorySecret{{Number: 3, Secret: [SecretSize]byte{2}}}))
	f.Add(make([]byte, SecretSize))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, h, err := parseWrapPlaintext(data)
		if err != nil {
			return
		}
		if again := wrapPlaintext(s, h); !bytes.Equal(again, data) {
			t.Fatalf("accepted %x, which re-encodes as %x", data, again)
		}
	})
}

// FuzzParseInvite checks that the invite decoder never panics and that an
// accepted link is the one encoding of its invite.
func FuzzParseInvite(f *testing.F) {
	r := newRoom(f, HistoryFromJoin)
	inv, err := NewInvite(r.ko.Room(), r.owner.id, r.owner.kem.PublicKey().Bytes(), testEpoch.Add(time.Hour), "/ip4/1.2.3.4/tcp/1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(inv.String())
	f.Add(InvitePrefix + r.ko.Room() + "#AQ")
	f.Fuzz(func(t *testing.T, link string) {
		inv, err := ParseInvite(link)
		if err != nil {
			return
		}
		if inv.String() != link {
			t.Fatalf("accepted %q, which re-encodes as %q", link, inv.String())
		}
	})
}

// FuzzOpenJoin feeds arbitrary join bodies to the owner: it must never
// panic, and only a body made with the invite's code may open.
func FuzzOpenJoin(f *testing.F) {
	r := newRoom(f, HistoryFromJoin)
	inv, err := NewInvite(r.ko.Room(), r.owner.id, r.owner.kem.PublicKey().Bytes(), testEpoch.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	dave := newIdent(f, "dave")
	body, err := NewJoin(inv, dave.id, dave.kem.PublicKey().Bytes(), "Dave")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add(body[:joinHeaderSize])
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = ParseJoinID(body)
		e := &protocol.Envelope{Kind: protocol.KindSealedJoin, Room: inv.Room, Author: dave.id, Lamport: 1, SentAt: testEpoch, Body: body}
		if req, err := OpenJoin(inv, r.owner.kem, e); err == nil && req.Peer != dave.id {
			t.Fatalf("request opened for %s", req.Peer)
		}
	})
}

// FuzzDecodeState checks the decoder of the encrypted room state: members
// read it only after the AEAD opened, but a broken owner could still
// write anything there.
func FuzzDecodeState(f *testing.F) {
	bob := newIdent(f, "bob")
	s := &State{Name: "family", History: HistoryShared, Members: []Member{bob.member()}, Removed: []Removal{{Peer: bob.id, Cutoff: 9}}}
	b, err := s.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeState(data)
		if err != nil {
			return
		}
		again, err := s.encode()
		if err == nil && !bytes.Equal(again, data) {
			t.Fatalf("accepted %x, which re-encodes as %x", data, again)
		}
	})
}
