package private

import (
	"slices"
	"testing"

	"github.com/peerchat/peerchat/protocol/sealed"
)

func TestMemberOfflineAcrossRekeysCatchesUpFromTheRelayAloneInOrder(t *testing.T) {
	net := newNetwork()
	alice, bob, carol := newNode(t, net, "alice"), newNode(t, net, "bob"), newNode(t, net, "carol")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	join(t, alice, bob, link)
	join(t, alice, carol, link)
	// Bob goes offline. Alice removes Carol and rotates twice, writing
	// between each change, then goes offline herself.
	if err := alice.p.Remove(ctx, room, carol.id); err != nil {
		t.Fatal(err)
	}
	alice.send(room, `{"text":"1"}`)
	if err := alice.p.Rotate(ctx, room); err != nil {
		t.Fatal(err)
	}
	alice.send(room, `{"text":"2"}`)
	if err := alice.p.Rotate(ctx, room); err != nil {
		t.Fatal(err)
	}
	alice.send(room, `{"text":"3"}`)
	// Bob restarts and reads only the relay's log.
	bob.restart()
	got := bob.sync()
	if !slices.Equal(got, []string{`{"text":"1"}`, `{"text":"2"}`, `{"text":"3"}`}) {
		t.Fatalf("bob read %q (refusals %v)", got, bob.refusals)
	}
	if info, _ := bob.p.Room(room); info.Epoch != 5 || !info.Held {
		t.Fatalf("bob's view after catching up: %+v", info)
	}
}

func TestNewcomerReadsFromItsJoinOrEverythingWhenTheRoomSharesHistory(t *testing.T) {
	for _, c := range []struct {
		history sealed.History
		want    []string
	}{
		{sealed.HistoryFromJoin, []string{`{"text":"after"}`}},
		{sealed.HistoryShared, []string{`{"text":"before"}`, `{"text":"after"}`}},
	} {
		t.Run(string(c.history), func(t *testing.T) {
			net := newNetwork()
			alice, dave := newNode(t, net, "alice"), newNode(t, net, "dave")
			room, link := createRoom(t, alice, CreateOptions{AutoApprove: true, History: c.history})
			alice.send(room, `{"text":"before"}`)
			if _, err := dave.p.AcceptInvite(ctx, link, "Dave"); err != nil {
				t.Fatal(err)
			}
			alice.sync()
			alice.send(room, `{"text":"after"}`)
			if got := dave.sync(); !slices.Equal(got, c.want) {
				t.Fatalf("dave read %q, want %q", got, c.want)
			}
			// What Dave holds survives his restart.
			dave.restart()
			dave.seen = 0
			if again := dave.sync(); !slices.Equal(again, c.want) {
				t.Fatalf("after a restart dave read %q, want %q", again, c.want)
			}
		})
	}
}
