package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

func TestNodesExchangeMessagesInTheSameOrder(t *testing.T) {
	for _, size := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			first := testNode(t, "")
			nodes := []*Node{first}
			for len(nodes) < size {
				nodes = append(nodes, testNode(t, "", bootstrapFrom(nodes...)))
			}
			mustJoin(t, "chat", nodes...)
			for _, n := range nodes {
				waitFor(t, 10*time.Second, "every node in the room mesh", func() bool { return roomPeers(n, "chat") == size-1 })
			}
			const perNode = 20
			var wg sync.WaitGroup
			for i, n := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < perNode; j++ {
						mustSend(t, n, "chat", fmt.Sprintf("node %d message %d", i, j))
					}
				}()
			}
			wg.Wait()
			want := size * perNode
			for _, n := range nodes {
				waitFor(t, 10*time.Second, "all messages on every node", func() bool { return len(historyIDs(t, n, "chat")) == want })
			}
			ref := historyIDs(t, nodes[0], "chat")
			for i, n := range nodes[1:] {
				if got := historyIDs(t, n, "chat"); !slices.Equal(got, ref) {
					t.Fatalf("node %d history order differs from node 0", i+1)
				}
			}
		})
	}
}

func TestSameEnvelopeDeliveredTwiceIsStoredOnce(t *testing.T) {
	a := testNode(t, "")
	b := testNode(t, "")
	mustJoin(t, "dup", a, b)
	m := mustSend(t, a, "dup", "only once")
	id, _ := protocol.ParseID(m.ID)
	env, err := storeOf(a).Envelope(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	before := b.LastSeq()
	for i := 0; i < 3; i++ {
		rcv, err := intakeOf(b).Check("dup", env.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		intakeOf(b).Store(context.Background(), rcv)
	}
	if err := storeOf(b).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := historyIDs(t, b, "dup"); len(got) != 1 || got[0] != m.ID {
		t.Fatalf("history = %v, want just %s", got, m.ID)
	}
	if got := b.LastSeq() - before; got != 1 {
		t.Fatalf("%d events appended for one message delivered three times, want 1", got)
	}
}

func TestRestartKeepsIdentityRoomsHistoryAndEventSeq(t *testing.T) {
	dir := t.TempDir()
	n := testNode(t, dir)
	mustJoin(t, "kept", n)
	m := mustSend(t, n, "kept", "survives restart")
	if err := storeOf(n).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, seq := n.ID(), n.LastSeq()
	if err := n.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	n2 := testNode(t, dir)
	if n2.ID() != id {
		t.Fatalf("peer ID changed across restart: %s → %s", id, n2.ID())
	}
	if !slices.ContainsFunc(n2.Rooms(), func(r RoomInfo) bool { return r.Name == "kept" }) {
		t.Fatalf("room not rejoined after restart: %v", n2.Rooms())
	}
	if got := historyIDs(t, n2, "kept"); !slices.Equal(got, []string{m.ID}) {
		t.Fatalf("history after restart = %v", got)
	}
	if n2.LastSeq() != seq {
		t.Fatalf("event seq after restart = %d, want %d", n2.LastSeq(), seq)
	}
	m2 := mustSend(t, n2, "kept", "after restart")
	if m2.Lamport <= m.Lamport {
		t.Fatalf("Lamport clock went back across restart: %d then %d", m.Lamport, m2.Lamport)
	}
	evs, err := n2.Events(context.Background(), seq, 10)
	if err != nil || len(evs) == 0 || evs[0].Seq != seq+1 {
		t.Fatalf("first event after restart: %v %v, want seq %d", evs, err, seq+1)
	}
}

func TestClientMsgIDMakesSendIdempotentAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	n := testNode(t, dir)
	mustJoin(t, "idem", n)
	first, created, err := n.Send(context.Background(), "idem", "hello", "abc-1")
	if err != nil || !created {
		t.Fatalf("first send: created=%v err=%v", created, err)
	}
	again, created, err := n.Send(context.Background(), "idem", "hello", "abc-1")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("resend: created=%v id=%s err=%v, want the first message %s", created, again.ID, err, first.ID)
	}
	n.Close()
	n = testNode(t, dir)
	again, created, err = n.Send(context.Background(), "idem", "hello", "abc-1")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("resend after restart: created=%v err=%v", created, err)
	}
	if got := historyIDs(t, n, "idem"); len(got) != 1 {
		t.Fatalf("%d messages stored, want 1", len(got))
	}
}

func TestConcurrentSendsWithOneClientMsgIDStoreOneMessage(t *testing.T) {
	n := testNode(t, "")
	mustJoin(t, "race", n)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := n.Send(context.Background(), "race", "same", "k")
			if err != nil {
				t.Error(err)
			}
			ids[i] = m.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent sends returned different messages: %v", ids)
		}
	}
	if got := historyIDs(t, n, "race"); len(got) != 1 {
		t.Fatalf("%d messages stored, want 1", len(got))
	}
}

func TestMessageSentRightAfterJoiningReachesConnectedPeers(t *testing.T) {
	a := testNode(t, "")
	b := testNode(t, "", bootstrapFrom(a))
	waitFor(t, 10*time.Second, "connection", func() bool { return len(a.Peers()) == 1 })
	mustJoin(t, "early", b)
	mustJoin(t, "early", a)
	m := mustSend(t, a, "early", "sent before the mesh formed")
	waitFor(t, 5*time.Second, "early message on the peer", func() bool {
		return slices.Contains(historyIDs(t, b, "early"), m.ID)
	})
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	n := testNode(t, "")
	mustJoin(t, "ok", n)
	ctx := context.Background()
	seq := n.LastSeq()
	cases := []struct {
		name string
		err  error
		code Code
	}{
		{"bad room name", n.JoinRoom(ctx, "no spaces"), CodeInvalid},
		{"too long room name", n.JoinRoom(ctx, string(make([]byte, 65))), CodeInvalid},
		{"unknown room", sendErr(n, "nowhere", "hi"), CodeNotFound},
		{"empty text", sendErr(n, "ok", ""), CodeInvalid},
		{"oversized text", sendErr(n, "ok", string(make([]rune, protocol.MaxTextLen+1))), CodeTooLarge},
		{"leave unknown room", n.LeaveRoom(ctx, "nowhere"), CodeNotFound},
	}
	for _, c := range cases {
		if got := ErrorCode(c.err); got != c.code {
			t.Errorf("%s: code %q (%v), want %q", c.name, got, c.err, c.code)
		}
	}
	if n.LastSeq() != seq {
		t.Fatalf("refused input appended events")
	}
	if got := historyIDs(t, n, "ok"); len(got) != 0 {
		t.Fatalf("refused input stored messages: %v", got)
	}
}

func sendErr(n *Node, room, text string) error {
	_, _, err := n.Send(context.Background(), room, text, "")
	return err
}

func TestSubscribeResumesAfterLastSeenSeqExactlyOnce(t *testing.T) {
	n := testNode(t, "")
	mustJoin(t, "sub", n)
	for i := 0; i < 5; i++ {
		mustSend(t, n, "sub", fmt.Sprintf("m%d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := n.Subscribe(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, n, "sub", "m5")
	var got []uint64
	for ev := range ch {
		got = append(got, ev.Seq)
		if len(got) == 4 {
			break
		}
	}
	if !slices.Equal(got, []uint64{3, 4, 5, 6}) {
		t.Fatalf("resumed seqs = %v, want [3 4 5 6]", got)
	}
}

func TestEventsOlderThanTheLogKeepsAreGoneNotSkipped(t *testing.T) {
	n := testNode(t, "", func(c *Config) { c.MaxEvents = 10 })
	mustJoin(t, "gone", n)
	for i := 0; i < 30; i++ {
		mustSend(t, n, "gone", fmt.Sprintf("m%d", i))
	}
	_, err := n.Events(context.Background(), 0, 10)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeGone {
		t.Fatalf("events since 0 after pruning: %v, want code gone", err)
	}
	evs, err := n.Events(context.Background(), n.LastSeq()-5, 10)
	if err != nil || len(evs) != 5 {
		t.Fatalf("recent events: %d, %v", len(evs), err)
	}
}
