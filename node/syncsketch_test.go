package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerchat/peerchat/protocol"
)

// signedHistory signs n messages of one author for room, with Lamports
// spread at random so that any subset is scattered through the history.
func signedHistory(t testing.TB, room string, n int) []*protocol.Envelope {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	out := make([]*protocol.Envelope, n)
	for i := range out {
		body, _ := json.Marshal(protocol.MessageBody{Text: fmt.Sprintf("history %d", i), AuthorName: "history"})
		out[i] = &protocol.Envelope{Kind: protocol.KindMessage, Room: room, Lamport: 1 + rng.Uint64N(1<<20),
			SentAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond), Body: body}
		if err := out[i].Sign(key); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// storeHistory writes envelopes straight into n's store, as if they had
// arrived while no peer was around.
func storeHistory(t testing.TB, n *Node, envs []*protocol.Envelope) {
	t.Helper()
	ctx := context.Background()
	for _, env := range envs {
		msg, err := protocol.MessageFromEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := storeOf(n).AddMessageAsync(ctx, env, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := storeOf(n).Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// negotiatedSync is the sync protocol a stream from a to b settles on.
func negotiatedSync(t testing.TB, a, b *Node) libp2pprotocol.ID {
	t.Helper()
	s, err := a.Host().NewStream(context.Background(), b.ID(), syncProtocolsOf(a)...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	return s.Protocol()
}

// splitHistory gives a and b a shared history plus messages only each of
// them holds, and returns every ID in history order.
func splitHistory(t testing.TB, a, b *Node, room string, shared, onlyA, onlyB int) []string {
	t.Helper()
	envs := signedHistory(t, room, shared+onlyA+onlyB)
	storeHistory(t, a, envs[:shared+onlyA])
	storeHistory(t, b, append(slices.Clone(envs[:shared]), envs[shared+onlyA:]...))
	ids := make([]string, 0, len(envs))
	for _, env := range envs {
		ids = append(ids, env.ID().String())
	}
	slices.Sort(ids)
	return ids
}

func sortedHistory(t testing.TB, n *Node, room string) []string {
	ids := historyIDs(t, n, room)
	slices.Sort(ids)
	return ids
}

func TestSketchSyncConvergesWithRandomDifferencesInBothDirections(t *testing.T) {
	a := testNode(t, "")
	b := testNode(t, "")
	mustJoin(t, "sketch", a, b)
	want := splitHistory(t, a, b, "sketch", 3000, 200, 150)
	a.Host().Peerstore().AddAddrs(b.ID(), b.Host().Addrs(), time.Hour)
	if got := negotiatedSync(t, a, b); got != protocol.SyncSketchProtocol {
		t.Fatalf("negotiated %s", got)
	}
	if err := syncWith(context.Background(), a, "sketch", b.ID()); err != nil {
		t.Fatal(err)
	}
	// syncWith returns once both sides have stored what they received.
	for _, n := range []*Node{a, b} {
		if got := sortedHistory(t, n, "sketch"); !slices.Equal(got, want) {
			t.Fatalf("%s holds %d messages, want the union of %d", n.ID(), len(got), len(want))
		}
	}
}

func TestSketchNodeAndLegacyNodeConvergeOverTheOldProtocol(t *testing.T) {
	a := testNode(t, "")
	old := testNode(t, "", WithLegacySyncOnly())
	mustJoin(t, "mixed", a, old)
	want := splitHistory(t, a, old, "mixed", 500, 40, 30)
	a.Host().Peerstore().AddAddrs(old.ID(), old.Host().Addrs(), time.Hour)
	old.Host().Peerstore().AddAddrs(a.ID(), a.Host().Addrs(), time.Hour)
	for _, pair := range [][2]*Node{{a, old}, {old, a}} {
		if got := negotiatedSync(t, pair[0], pair[1]); got != protocol.SyncProtocol {
			t.Fatalf("negotiated %s with a node that speaks only %s", got, protocol.SyncProtocol)
		}
	}
	if err := syncWith(context.Background(), a, "mixed", old.ID()); err != nil {
		t.Fatal(err)
	}
	more := signedHistory(t, "mixed", 7)
	storeHistory(t, a, more[:4])
	storeHistory(t, old, more[4:])
	for _, env := range more {
		want = append(want, env.ID().String())
	}
	slices.Sort(want)
	if err := syncWith(context.Background(), old, "mixed", a.ID()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{a, old} {
		if got := sortedHistory(t, n, "mixed"); !slices.Equal(got, want) {
			t.Fatalf("%s holds %d messages, want the union of %d", n.ID(), len(got), len(want))
		}
	}
}

func TestSketchSyncFallsBackToRangeReconciliationOnTheSameStream(t *testing.T) {
	// Both fall back, whichever of them starts a run.
	fallback := WithRangeSyncOnly()
	a := testNode(t, "", fallback)
	b := testNode(t, "", fallback)
	mustJoin(t, "fallback", a, b)
	want := splitHistory(t, a, b, "fallback", 1000, 60, 80)
	a.Host().Peerstore().AddAddrs(b.ID(), b.Host().Addrs(), time.Hour)
	if err := syncWith(context.Background(), a, "fallback", b.ID()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{a, b} {
		if got := sortedHistory(t, n, "fallback"); !slices.Equal(got, want) {
			t.Fatalf("%s holds %d messages, want the union of %d", n.ID(), len(got), len(want))
		}
	}
}
