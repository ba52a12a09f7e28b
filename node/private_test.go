package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

const privateWait = 30 * time.Second

// texts returns the texts of room's history on n.
func texts(t testing.TB, n *Node, room string) []string {
	t.Helper()
	msgs, _, err := n.History(context.Background(), room, "", 500)
	if err != nil {
		t.Fatalf("history of %s: %v", room, err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

// eventTexts returns the texts of n's message events in room, and the
// types of every event of room, in log order.
func eventTexts(t testing.TB, n *Node, room string) (texts, types []string) {
	t.Helper()
	raws, err := n.Events(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		var ev protocol.Event
		if err := json.Unmarshal(r.JSON, &ev); err != nil || ev.Room != room {
			continue
		}
		types = append(types, ev.Type)
		if ev.Type == protocol.EventMessage && ev.Message != nil {
			texts = append(texts, ev.Message.Text)
		}
	}
	return texts, types
}

// holds reports whether n can read and write room now.
func holds(n *Node, room string) bool {
	for _, r := range n.Private().List() {
		if r.Room == room {
			return r.Held
		}
	}
	return false
}

// folderHolds reports whether any file under dir contains needle.
func folderHolds(t testing.TB, dir string, needle []byte) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil // a file Pebble removed meanwhile
		}
		found = bytes.Contains(data, needle)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func stored(t testing.TB, n *Node, room string) int {
	t.Helper()
	c, err := n.store.CountMessages(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// privateRoomOf creates a room on owner that lets in whoever asks, and
// lets each of members in through an invite.
func privateRoomOf(t *testing.T, owner *Node, members ...*Node) string {
	t.Helper()
	ctx := context.Background()
	room, inv, err := owner.Private().Create(ctx, "club", PrivateRoomOptions{AutoApprove: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if _, err := m.Private().AcceptInvite(ctx, inv.Link); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range members {
		waitFor(t, privateWait, "the member let in", func() bool { return holds(m, room) })
	}
	return room
}

func TestPrivateRoomMembersReadEachOtherAndAStoreWithoutKeysHoldsOnlyCiphertext(t *testing.T) {
	sync := WithSyncInterval(300 * time.Millisecond)
	owner := testNode(t, "", sync)
	member := testNode(t, "", bootstrapFrom(owner), sync)
	storeDir := t.TempDir()
	store := testNode(t, storeDir, bootstrapFrom(owner, member), sync)
	ctx := context.Background()
	room, inv, err := owner.Private().Create(ctx, "club", PrivateRoomOptions{AutoApprove: true})
	if err != nil {
		t.Fatal(err)
	}
	// A store joins the room's topic by name, as a relay does, without
	// any key.
	mustJoin(t, room, store)
	if _, err := member.Private().AcceptInvite(ctx, inv.Link); err != nil {
		t.Fatal(err)
	}
	waitFor(t, privateWait, "the member let in", func() bool { return holds(member, room) })
	const fromOwner, fromMember = "canaryOWNER7f3a9", "canaryMEMBER2c8d1"
	mustSend(t, owner, room, fromOwner)
	mustSend(t, member, room, fromMember)
	for _, n := range []*Node{owner, member} {
		waitFor(t, privateWait, "both texts in history", func() bool {
			got := texts(t, n, room)
			return slices.Contains(got, fromOwner) && slices.Contains(got, fromMember)
		})
		// An event is shown once its batch is on disk, just after the
		// history can read it.
		waitFor(t, privateWait, "both texts as message events", func() bool {
			evTexts, _ := eventTexts(t, n, room)
			return slices.Contains(evTexts, fromOwner) && slices.Contains(evTexts, fromMember)
		})
		_, types := eventTexts(t, n, room)
		if n == member && !slices.Contains(types, protocol.EventRoomJoined) {
			t.Fatalf("the member's events %v lack room.joined", types)
		}
	}
	waitFor(t, privateWait, "the store holding every envelope of the room", func() bool {
		return stored(t, store, room) == stored(t, owner, room) && stored(t, store, room) == stored(t, member, room)
	})
	if got := texts(t, store, room); len(got) != 0 {
		t.Fatalf("the store shows %v", got)
	}
	if _, types := eventTexts(t, store, room); slices.Contains(types, protocol.EventMessage) {
		t.Fatalf("the store has message events: %v", types)
	}
	for _, canary := range []string{fromOwner, fromMember} {
		if folderHolds(t, storeDir, []byte(canary)) {
			t.Fatalf("the store's data folder holds the plaintext %q", canary)
		}
	}
	// The same check finds a public room's text: it would find a leak.
	const public = "canaryPUBLIC9e4b6"
	mustJoin(t, "open-room", owner, store)
	waitFor(t, privateWait, "the store in the public room's mesh", func() bool { return roomPeers(owner, "open-room") >= 1 })
	mustSend(t, owner, "open-room", public)
	waitFor(t, privateWait, "the public text at the store", func() bool { return slices.Contains(texts(t, store, "open-room"), public) })
	if !folderHolds(t, storeDir, []byte(public)) {
		t.Fatal("the folder scan does not find a public room's text: it proves nothing")
	}
	// Signals would go out in the clear: members send none in the room.
	// In the public room the same store hears the owner's presence.
	waitFor(t, privateWait, "the owner's presence in the public room", func() bool {
		_, types := eventTexts(t, store, "open-room")
		return slices.Contains(types, protocol.EventPresence)
	})
	if _, types := eventTexts(t, store, room); slices.ContainsFunc(types, func(ty string) bool {
		return ty == protocol.EventPresence || ty == protocol.EventReceipt || ty == protocol.EventTyping
	}) {
		t.Fatalf("the store heard signals in the private room: %v", types)
	}
}

func TestARemovedMemberReadsNothingSentAfterTheRemoval(t *testing.T) {
	sync := WithSyncInterval(300 * time.Millisecond)
	owner := testNode(t, "", sync)
	stays := testNode(t, "", bootstrapFrom(owner), sync)
	leaves := testNode(t, "", bootstrapFrom(owner, stays), sync)
	room := privateRoomOf(t, owner, stays, leaves)
	ctx := context.Background()
	mustSend(t, owner, room, "before")
	waitFor(t, privateWait, "the message before the removal", func() bool { return slices.Contains(texts(t, leaves, room), "before") })
	if err := stays.Private().Remove(ctx, room, leaves.ID().String()); ErrorCode(err) != CodeForbidden {
		t.Fatalf("a member removing another: %v, want forbidden", err)
	}
	if err := owner.Private().Remove(ctx, room, leaves.ID().String()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, privateWait, "room.removed at the removed member", func() bool {
		_, types := eventTexts(t, leaves, room)
		return slices.Contains(types, protocol.EventRoomRemoved)
	})
	waitFor(t, privateWait, "the member who stays holding the new epoch", func() bool { return holds(stays, room) })
	after := mustSend(t, owner, room, "after")
	waitFor(t, privateWait, "the message after the removal at the member who stays", func() bool { return slices.Contains(texts(t, stays, room), "after") })
	id := mustParseID(t, after.ID)
	waitFor(t, privateWait, "the ciphertext at the removed member", func() bool {
		has, _ := leaves.store.Has(ctx, id)
		return has
	})
	if got := texts(t, leaves, room); slices.Contains(got, "after") || !slices.Contains(got, "before") {
		t.Fatalf("the removed member reads %v", got)
	}
	if _, _, err := leaves.Send(ctx, room, "still here?", ""); ErrorCode(err) != CodeForbidden {
		t.Fatalf("a removed member sending: %v, want forbidden", err)
	}
}

func TestADirectRoomOpensWithoutAnyExchangeAndCarriesBothWays(t *testing.T) {
	sync := WithSyncInterval(300 * time.Millisecond)
	a := testNode(t, "", sync)
	b := testNode(t, "", bootstrapFrom(a), sync)
	ctx := context.Background()
	ra, err := a.Private().DM(ctx, b.ID().String())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Private().DM(ctx, a.ID().String())
	if err != nil {
		t.Fatal(err)
	}
	if ra != rb {
		t.Fatalf("the two sides derived %s and %s", ra, rb)
	}
	mustSend(t, a, ra, "hello b")
	mustSend(t, b, rb, "hello a")
	for _, n := range []*Node{a, b} {
		waitFor(t, privateWait, "both texts in the direct room", func() bool {
			got := texts(t, n, ra)
			return slices.Contains(got, "hello a") && slices.Contains(got, "hello b")
		})
	}
	// The lower peer ID rekeys once the other announced its KEM key.
	waitFor(t, privateWait, "the direct room off its genesis", func() bool {
		for _, r := range a.Private().List() {
			if r.Room == ra {
				return r.Epoch >= 1 && holds(b, ra)
			}
		}
		return false
	})
	mustSend(t, a, ra, "after the rekey")
	waitFor(t, privateWait, "a message after the rekey", func() bool { return slices.Contains(texts(t, b, ra), "after the rekey") })
	if _, err := a.Private().DM(ctx, a.ID().String()); ErrorCode(err) != CodeInvalid {
		t.Fatalf("a DM with oneself: %v, want invalid", err)
	}
}

func TestPrivateRoomCallsReportBadInputWithTheirCodes(t *testing.T) {
	owner := testNode(t, "")
	other := testNode(t, "")
	ctx := context.Background()
	room, _, err := owner.Private().Create(ctx, "club", PrivateRoomOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := owner.Private().Invite(ctx, room, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the invite to expire", func() bool { return time.Now().After(expired.ExpiresAt) })
	for _, c := range []struct {
		what string
		err  error
		want Code
	}{
		{"a malformed invite", func() error {
			_, err := other.Private().AcceptInvite(ctx, "peerchat://join/pv1-nonsense#AAAA")
			return err
		}(), CodeInvalid},
		{"an expired invite", func() error { _, err := other.Private().AcceptInvite(ctx, expired.Link); return err }(), CodeGone},
		{"an invite by a non-owner", func() error { _, err := other.Private().Invite(ctx, room, 0); return err }(), CodeNotFound},
		{"revoking an unknown invite", owner.Private().RevokeInvite(ctx, room, "00112233445566778899aabbccddeeff"), CodeNotFound},
		{"removing a bad peer ID", owner.Private().Remove(ctx, room, "not-a-peer"), CodeInvalid},
		{"removing a non-member", owner.Private().Remove(ctx, room, other.ID().String()), CodeConflict},
		{"a direct room with a bad peer ID", func() error { _, err := other.Private().DM(ctx, "nope"); return err }(), CodeInvalid},
	} {
		if got := ErrorCode(c.err); got != c.want {
			t.Errorf("%s: %v (%s), want %s", c.what, c.err, got, c.want)
		}
	}
	if err := owner.Private().RevokeInvite(ctx, room, expired.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}
