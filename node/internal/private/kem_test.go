package private

import (
	"slices"
	"testing"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

func TestMemberReplacesItsKEMKeyAfterEachWrapAndTheOwnerWrapsToTheNewOne(t *testing.T) {
	net := newNetwork()
	alice, bob := newNode(t, net, "alice"), newNode(t, net, "bob")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	if _, err := bob.p.AcceptInvite(ctx, link, "Bob"); err != nil {
		t.Fatal(err)
	}
	bob.p.mu.RLock()
	firstKEM := bob.p.rooms[room].ring.KEMs()[0]
	bob.p.mu.RUnlock()
	alice.sync()
	bob.sync() // the add arrives wrapped to bob's first key: he announces a new one
	announced := slices.ContainsFunc(net.entries(0), func(e *protocol.Envelope) bool {
		return e.Kind == protocol.KindSealedKeys && e.Author == bob.id
	})
	if !announced {
		t.Fatal("bob announced no new KEM key after his wrap")
	}
	alice.sync()
	if got := len(alice.p.rooms[room].ring.Announced()); got != 1 {
		t.Fatalf("owner noted %d announced keys", got)
	}
	alice.restart() // the noted key survives
	alice.seen = len(net.entries(0))
	if err := alice.p.Rotate(ctx, room); err != nil {
		t.Fatal(err)
	}
	if vals, _ := alice.st.PrivateValues(ctx, room, prefixKEM); len(vals) != 0 {
		t.Fatalf("the listed key is still pending on disk: %d", len(vals))
	}
	alice.send(room, `{"text":"after the rotation"}`)
	bob.restart()
	if got := bob.sync(); !slices.Contains(got, `{"text":"after the rotation"}`) {
		t.Fatalf("bob read %q (refusals %v)", got, bob.refusals)
	}
	// A thief who copied bob's first KEM key and syncs from a relay
	// cannot open the epoch after the rotation.
	thief := sealed.NewKeyring(room, bob.id, firstKEM)
	for _, e := range net.entries(0) {
		if e.Kind == protocol.KindSealedEpoch {
			if _, err := thief.AdmitEpoch(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, ok := thief.HeadKeys(); ok {
		t.Fatal("bob's first KEM key opened an epoch wrapped after he replaced it")
	}
}

func TestDirectRoomLeavesItsIdentityDerivedSecretOnceBothSidesHaveOpenedIt(t *testing.T) {
	net := newNetwork()
	alice, bob := newNode(t, net, "alice"), newNode(t, net, "bob")
	room, err := alice.p.DM(ctx, bob.id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.p.DM(ctx, alice.id); err != nil {
		t.Fatal(err)
	}
	alice.sync()
	bob.sync()
	alice.sync()
	for _, n := range []*node{alice, bob} {
		if info, _ := n.p.Room(room); info.Epoch != 1 || !info.Held {
			t.Fatalf("%s's view of the direct room: %+v (refusals %v)", n.name, info, n.refusals)
		}
	}
	bob.send(room, `{"text":"on a fresh secret"}`)
	if got := alice.sync(); !slices.Contains(got, `{"text":"on a fresh secret"}`) {
		t.Fatalf("alice read %q (refusals %v)", got, alice.refusals)
	}
	// The secret both derive from their identity keys opens nothing new.
	d, err := sealed.DeriveDM(alice.key, bob.id)
	if err != nil {
		t.Fatal(err)
	}
	head := alice.p.rooms[room].chain.Head()
	if sealed.DeriveEpoch(room, 0, d.Secret).ID == head.ID {
		t.Fatal("the direct room is still on its genesis secret")
	}
}
