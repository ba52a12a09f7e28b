package sealed

import (
	"errors"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

// room is a test room: its owner's keyring and the epochs published.
type room struct {
	t      testing.TB
	owner  *ident
	ko     *Keyring
	c      clock
	epochs []*protocol.Envelope
}

func newRoom(t testing.TB, history History) *room {
	r := &room{t: t, owner: newIdent(t, "owner")}
	var g *protocol.Envelope
	r.ko, g = ownedRoom(t, r.owner, &r.c, history)
	r.epochs = append(r.epochs, g)
	return r
}

// publish signs an epoch body as the owner and admits it at the owner.
func (r *room) publish(body []byte, err error) *protocol.Envelope {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	e := sign(r.t, r.owner, &r.c, protocol.KindSealedEpoch, r.ko.Room(), body)
	admit(r.t, e, r.ko)
	r.epochs = append(r.epochs, e)
	return e
}

// sync admits every epoch so far into k, as a sync from a relay does.
func (r *room) sync(k *Keyring) {
	r.t.Helper()
	for _, e := range r.epochs {
		if _, err := k.AdmitEpoch(e); err != nil {
			r.t.Fatalf("sync epoch: %v", err)
		}
	}
}

func TestNewcomerReadsFromItsJoinOnOnly(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	before := send(t, r.ko, r.owner, &r.c, "before the join")
	dave := newIdent(t, "dave")
	r.publish(r.ko.Add(dave.member()))
	after := send(t, r.ko, r.owner, &r.c, "after the join")

	kd := NewKeyring(r.ko.Room(), dave.id, dave.kem)
	r.sync(kd)
	if _, _, err := kd.Open(before); !errors.Is(err, ErrNoKey) {
		t.Fatalf("newcomer opened a message from before its join: %v", err)
	}
	if pt, _, err := kd.Open(after); err != nil || string(pt) != "after the join" {
		t.Fatalf("newcomer: %q, %v", pt, err)
	}
	if s, ok := kd.State(); !ok || s.Name != "family" || !s.HasMember(dave.id) {
		t.Fatalf("newcomer's room state: %+v", s)
	}
}

func TestJoinerOfASharedHistoryRoomReadsEverything(t *testing.T) {
	r := newRoom(t, HistoryShared)
	m0 := send(t, r.ko, r.owner, &r.c, "m0")
	r.publish(r.ko.Rotate())
	m1 := send(t, r.ko, r.owner, &r.c, "m1")
	dave := newIdent(t, "dave")
	r.publish(r.ko.Add(dave.member()))

	kd := NewKeyring(r.ko.Room(), dave.id, dave.kem)
	r.sync(kd)
	for _, m := range []*protocol.Envelope{m0, m1} {
		if _, _, err := kd.Open(m); err != nil {
			t.Fatalf("shared-history joiner: %v", err)
		}
	}
}

func TestRemovedMemberReadsNothingNewAndCannotWrite(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	bob, carol := newIdent(t, "bob"), newIdent(t, "carol")
	kb := NewKeyring(r.ko.Room(), bob.id, bob.kem)
	kc := NewKeyring(r.ko.Room(), carol.id, carol.kem)
	r.sync(kb)
	r.sync(kc)
	admit(t, r.publish(r.ko.Add(bob.member(), carol.member())), kb, kc)
	old := send(t, kc, carol, &r.c, "carol while a member")
	admit(t, r.publish(r.ko.Remove(Removal{Peer: carol.id, Cutoff: old.Lamport})), kb, kc)

	later := send(t, kb, bob, &r.c, "after carol left")
	if _, _, err := kc.Open(later); !errors.Is(err, ErrNoKey) {
		t.Fatalf("removed member opened a later message: %v", err)
	}
	if _, err := kc.Seal(Header{Kind: protocol.KindSealedMessage, Room: kc.Room(), Author: carol.id, Lamport: 99, SentAt: testEpoch}, []byte("x")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("removed member sealed in the new epoch: %v", err)
	}
	// Carol still holds the old epoch's keys and backdates a message into it.
	keys, _ := kc.Held(mustRecord(t, r.epochs[1]).ID)
	l, at := r.c.next()
	h := Header{Kind: protocol.KindSealedMessage, Room: kc.Room(), Author: carol.id, Lamport: l, SentAt: at}
	body, _ := Seal(keys, h, []byte("backdated"))
	e := sign(t, carol, &clock{lamport: l - 1}, h.Kind, h.Room, body)
	if _, err := kb.Chain().CheckWrite(e); err != nil {
		t.Fatalf("a relay, which knows no cutoff, checks the old epoch's write key only: %v", err)
	}
	if _, _, err := kb.Open(e); !errors.Is(err, ErrAfterCutoff) {
		t.Fatalf("member accepted a removed member's message past its cutoff: %v", err)
	}
	if _, _, err := kb.Open(old); err != nil {
		t.Fatalf("member refused the removed member's message from before its cutoff: %v", err)
	}
}

func TestMemberAdoptsNoKeyFromAForgedEpoch(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	bob := newIdent(t, "bob")
	kb := NewKeyring(r.ko.Room(), bob.id, bob.kem)
	r.sync(kb)
	admit(t, r.publish(r.ko.Add(bob.member())), kb)

	// The owner's node is broken: it publishes a record whose write key
	// does not derive from the secret it wraps.
	body := must(r.ko.Rotate())
	rec, _ := DecodeRecord(body)
	rec.WritePub = newIdentKeyPub(t)
	forged := sign(t, r.owner, &r.c, protocol.KindSealedEpoch, r.ko.Room(), must(rec.Encode()))
	a, err := kb.AdmitEpoch(forged)
	if !errors.Is(err, ErrForgedEpoch) || a.Held {
		t.Fatalf("forged epoch: held %v, %v; want ErrForgedEpoch", a.Held, err)
	}
	// A member's epoch is refused before any key is looked at.
	byBob := sign(t, bob, &r.c, protocol.KindSealedEpoch, r.ko.Room(), must(r.ko.Rotate()))
	if _, err := kb.AdmitEpoch(byBob); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("member-written epoch: %v", err)
	}
}

func TestMemberOfflineAcrossRekeysCatchesUpInOrderFromEpochsAlone(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	bob, carol := newIdent(t, "bob"), newIdent(t, "carol")
	kb := NewKeyring(r.ko.Room(), bob.id, bob.kem)
	r.sync(kb)
	admit(t, r.publish(r.ko.Add(bob.member(), carol.member())), kb)
	// Bob goes offline: the owner removes carol and rotates twice.
	var msgs []*protocol.Envelope
	r.publish(r.ko.Remove(Removal{Peer: carol.id}))
	msgs = append(msgs, send(t, r.ko, r.owner, &r.c, "a"))
	r.publish(r.ko.Rotate())
	msgs = append(msgs, send(t, r.ko, r.owner, &r.c, "b"))
	r.publish(r.ko.Rotate())
	msgs = append(msgs, send(t, r.ko, r.owner, &r.c, "c"))

	// Back online, Bob syncs from a relay's copies only.
	r.sync(kb)
	for i, m := range msgs {
		pt, _, err := kb.Open(m)
		if err != nil || string(pt) != string(rune('a'+i)) {
			t.Fatalf("message %d: %q, %v", i, pt, err)
		}
	}
}

func newIdentKeyPub(t testing.TB) []byte {
	k := DeriveEpoch("pv1-x", 0, [SecretSize]byte{9})
	return k.WritePub
}
