package node

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/peerchat/peerchat/node/internal/signals"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// eventsOf returns the events of type typ after since on n.
func eventsOf(t *testing.T, n *Node, since uint64, typ string) []protocol.Event {
	t.Helper()
	raws, err := n.Events(context.Background(), since, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []protocol.Event
	for _, raw := range raws {
		ev, err := store.DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// pair starts two connected nodes that share room.
func pair(t *testing.T, room string) (*Node, *Node) {
	a := testNode(t, "")
	b := testNode(t, "", bootstrapFrom(a))
	mustJoin(t, room, a, b)
	waitFor(t, 10*time.Second, "mesh", func() bool { return roomPeers(a, room) == 1 && roomPeers(b, room) == 1 })
	return a, b
}

func TestTypingReachesPeersIsRateLimitedAndClearsOnMessage(t *testing.T) {
	a, b := pair(t, "t")
	ctx := context.Background()
	since := b.LastSeq()
	sent, err := a.Typing(ctx, "t")
	if err != nil || !sent {
		t.Fatalf("first typing call: sent=%v err=%v", sent, err)
	}
	for i := 0; i < 10; i++ { // keystrokes within the interval send nothing more
		if sent, _ := a.Typing(ctx, "t"); sent {
			t.Fatal("typing signal sent twice within 2 s")
		}
	}
	var ev protocol.Event
	waitFor(t, 5*time.Second, "typing event on the peer", func() bool {
		evs := eventsOf(t, b, since, protocol.EventTyping)
		if len(evs) > 0 {
			ev = evs[0]
		}
		return len(evs) > 0
	})
	if ev.PeerID != a.ID().String() || ev.Room != "t" || ev.Name != a.Name() || ev.Until == nil || !ev.Until.After(time.Now()) {
		t.Fatalf("typing event = %+v", ev)
	}
	if ev.Until.After(time.Now().Add(signals.TypingTTL + time.Second)) {
		t.Fatalf("typing lasts until %s: longer than its TTL", ev.Until)
	}
	mustSend(t, a, "t", "done typing")
	waitFor(t, 5*time.Second, "typing to clear when the message arrives", func() bool {
		evs := eventsOf(t, b, since, protocol.EventTyping)
		return len(evs) == 2 && !evs[1].Until.After(time.Now())
	})
}

func TestTypingSignalsAreNeverStored(t *testing.T) {
	a, b := pair(t, "eph")
	a.Typing(context.Background(), "eph")
	waitFor(t, 5*time.Second, "typing event", func() bool { return len(eventsOf(t, b, 0, protocol.EventTyping)) == 1 })
	items, release, err := storeOf(b).Items(context.Background(), "eph")
	if err == nil {
		release()
	}
	if err != nil || len(items) != 0 {
		t.Fatalf("history holds %d items after a typing signal, want 0 (%v)", len(items), err)
	}
}

func TestPresenceShowsAwayAndOfflineAfterACrash(t *testing.T) {
	t.Parallel()
	a, b := pair(t, "p")
	ctx := context.Background()
	statusOf := func(n *Node, id string) string {
		ms, err := n.Members(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.PeerID == id {
				return m.Status
			}
		}
		return ""
	}
	waitFor(t, 10*time.Second, "a online on b", func() bool { return statusOf(b, a.ID().String()) == protocol.StatusOnline })
	if err := a.SetPresence(ctx, protocol.StatusAway); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a away on b", func() bool { return statusOf(b, a.ID().String()) == protocol.StatusAway })
	if err := a.SetPresence(ctx, "busy"); ErrorCode(err) != CodeInvalid {
		t.Fatalf("unknown status: %v", err)
	}
	// A crash: the host goes away with no goodbye.
	a.Host().Close()
	start := time.Now()
	waitFor(t, 30*time.Second, "a offline on b after its crash", func() bool { return statusOf(b, a.ID().String()) == protocol.StatusOffline })
	t.Logf("crashed peer shown offline after %s", time.Since(start).Round(100*time.Millisecond))
	// The event is appended to the log without waiting for the disk, so it
	// may land a moment after the member list changed.
	var last protocol.Event
	waitFor(t, 2*time.Second, "offline event on b", func() bool {
		evs := eventsOf(t, b, 0, protocol.EventPresence)
		last = evs[len(evs)-1]
		return last.Status == protocol.StatusOffline
	})
	if last.PeerID != a.ID().String() || last.LastSeen == nil {
		t.Fatalf("last presence event = %+v", last)
	}
}

func TestLastSeenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	a := testNode(t, "")
	b := testNode(t, dir, bootstrapFrom(a))
	mustJoin(t, "ls", a, b)
	waitFor(t, 10*time.Second, "presence of a on b", func() bool {
		ms, _ := b.Members(context.Background(), "ls")
		return len(ms) == 2 && ms[1].Status == protocol.StatusOnline
	})
	// Presence is shown from memory a moment before it is saved; what
	// survives a restart is what reached the store.
	waitFor(t, 10*time.Second, "a's membership and last seen saved on b", func() bool {
		ctx := context.Background()
		members, _ := storeOf(b).Members(ctx, "ls")
		seen, _ := storeOf(b).AllSeen(ctx)
		_, saw := seen[a.ID().String()]
		return slices.Contains(members, a.ID().String()) && saw
	})
	b.Close()
	a.Close()
	b = testNode(t, dir)
	ms, err := b.Members(context.Background(), "ls")
	if err != nil || len(ms) != 2 {
		t.Fatalf("members after restart: %+v %v", ms, err)
	}
	if ms[1].PeerID != a.ID().String() || ms[1].Status != protocol.StatusOffline || ms[1].LastSeen == nil || time.Since(*ms[1].LastSeen) > time.Minute {
		t.Fatalf("member after restart = %+v", ms[1])
	}
}

func TestReadReceiptsTickTheSendersMessageAndNeverMoveBack(t *testing.T) {
	a, b := pair(t, "r")
	ctx := context.Background()
	m1 := mustSend(t, a, "r", "one")
	m2 := mustSend(t, a, "r", "two")
	waitFor(t, 5*time.Second, "messages on b", func() bool { return len(historyIDs(t, b, "r")) == 2 })
	statusOf := func(id string) protocol.Event {
		var last protocol.Event
		for _, ev := range eventsOf(t, a, 0, protocol.EventMessageStatus) {
			if ev.ID == id {
				last = ev
			}
		}
		return last
	}
	waitFor(t, 5*time.Second, "delivered status on a", func() bool { return statusOf(m2.ID).Status == protocol.MessageDelivered })
	if got, err := b.MarkRead(ctx, "r", m2.ID); err != nil || got != m2.ID {
		t.Fatalf("mark read: %s %v", got, err)
	}
	waitFor(t, 5*time.Second, "read status on a", func() bool {
		s := statusOf(m2.ID)
		return s.Status == protocol.MessageRead && *s.Read == 1 && *s.Delivered == 1
	})
	if statusOf(m1.ID).Status != protocol.MessageRead {
		t.Fatalf("reading up to the second message did not mark the first read")
	}
	// Marking an older message read leaves the marker where it is.
	if got, err := b.MarkRead(ctx, "r", m1.ID); err != nil || got != m2.ID {
		t.Fatalf("marker moved back to %s (%v)", got, err)
	}
	receipts := eventsOf(t, a, 0, protocol.EventReceipt)
	if !slices.ContainsFunc(receipts, func(e protocol.Event) bool {
		return e.PeerID == b.ID().String() && e.Kind == protocol.ReceiptRead && e.UpTo == m2.ID
	}) {
		t.Fatalf("no read receipt event on a: %+v", receipts)
	}
	if n, _ := b.Unread(ctx, "r"); n != 0 {
		t.Fatalf("b has %d unread after reading everything", n)
	}
	mustSend(t, a, "r", "three")
	waitFor(t, 5*time.Second, "unread count on b", func() bool { n, _ := b.Unread(ctx, "r"); return n == 1 })
	if _, err := b.MarkRead(ctx, "r", "00"); ErrorCode(err) != CodeInvalid {
		t.Fatalf("bad up_to: %v", err)
	}
	if _, err := b.MarkRead(ctx, "r", m1.ID[:60]+"0000"); ErrorCode(err) != CodeNotFound {
		t.Fatalf("unknown up_to: %v", err)
	}
}

func TestReadMarkerReachesAPeerThatWasOffline(t *testing.T) {
	dirA := t.TempDir()
	a := testNode(t, dirA)
	b := testNode(t, "", bootstrapFrom(a))
	mustJoin(t, "off", a, b)
	waitFor(t, 10*time.Second, "mesh", func() bool { return roomPeers(b, "off") == 1 })
	m := mustSend(t, a, "off", "read me later")
	waitFor(t, 5*time.Second, "message on b", func() bool { return len(historyIDs(t, b, "off")) == 1 })
	a.Close()
	if _, err := b.MarkRead(context.Background(), "off", m.ID); err != nil {
		t.Fatal(err)
	}
	a = testNode(t, dirA, bootstrapFrom(b))
	waitFor(t, 15*time.Second, "b's read marker on a after restart", func() bool {
		ms, _ := a.Members(context.Background(), "off")
		return slices.ContainsFunc(ms, func(x Member) bool { return x.PeerID == b.ID().String() && x.ReadUpTo == m.ID })
	})
	ms, _ := a.Members(context.Background(), "off")
	found := slices.ContainsFunc(ms, func(x Member) bool { return x.PeerID == b.ID().String() && x.ReadUpTo == m.ID })
	if !found {
		t.Fatalf("members on a do not show b's read marker: %+v", ms)
	}
}

func TestMessageSentWithNoPeerIsQueuedThenSent(t *testing.T) {
	a := testNode(t, "")
	mustJoin(t, "q", a)
	m := mustSend(t, a, "q", "nobody here yet")
	statuses := func() []string {
		var out []string
		for _, ev := range eventsOf(t, a, 0, protocol.EventMessageStatus) {
			if ev.ID == m.ID {
				out = append(out, ev.Status)
			}
		}
		return out
	}
	waitFor(t, 5*time.Second, "queued status", func() bool { return slices.Contains(statuses(), protocol.MessageQueued) })
	b := testNode(t, "", bootstrapFrom(a))
	mustJoin(t, "q", b)
	waitFor(t, 10*time.Second, "the queued message on the new peer", func() bool { return slices.Contains(historyIDs(t, b, "q"), m.ID) })
	waitFor(t, 10*time.Second, "sent status", func() bool { return slices.Contains(statuses(), protocol.MessageSent) })
}
