package node

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestAJoinRequestWaitsAtAStoreForAnOfflineOwnerAndMembersKeepTheirKeysAcrossRestarts(t *testing.T) {
	sync := WithSyncInterval(300 * time.Millisecond)
	ctx := context.Background()
	store := testNode(t, "", sync)
	ownerDir, memberDir := t.TempDir(), t.TempDir()
	owner := testNode(t, ownerDir, bootstrapFrom(store), sync)
	room, inv, err := owner.Private().Create(ctx, "club", PrivateRoomOptions{AutoApprove: true})
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, room, store)
	waitFor(t, privateWait, "the genesis at the store", func() bool { return stored(t, store, room) == 1 })
	owner.Close()

	member := testNode(t, memberDir, bootstrapFrom(store), sync)
	if _, err := member.Private().AcceptInvite(ctx, inv.Link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, privateWait, "the join request at the store", func() bool { return stored(t, store, room) == 2 })
	if holds(member, room) {
		t.Fatal("let in while the owner was away")
	}

	owner = testNode(t, ownerDir, bootstrapFrom(store), sync) // it remembers its room and its keys
	waitFor(t, privateWait, "the member let in by the returning owner", func() bool { return holds(member, room) })
	mustSend(t, member, room, "hello owner")
	waitFor(t, privateWait, "the member's text at the owner", func() bool { return slices.Contains(texts(t, owner, room), "hello owner") })

	member.Close()
	member = testNode(t, memberDir, bootstrapFrom(store), sync)
	if got := texts(t, member, room); !slices.Contains(got, "hello owner") {
		t.Fatalf("after a restart the member reads %v", got)
	}
	if !holds(member, room) {
		t.Fatal("after a restart the member no longer holds the room")
	}
	mustSend(t, member, room, "back again")
	waitFor(t, privateWait, "a text sent after the restart at the owner", func() bool { return slices.Contains(texts(t, owner, room), "back again") })
	mustSend(t, owner, room, "welcome back")
	waitFor(t, privateWait, "the owner's text at the restarted member", func() bool { return slices.Contains(texts(t, member, room), "welcome back") })
}
