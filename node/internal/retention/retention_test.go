package retention

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"go.uber.org/goleak"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// storeWith opens a store holding n messages of room, sent an hour apart
// ending now, the oldest first.
func storeWith(t *testing.T, room string, n int) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	for i := range n {
		body, _ := json.Marshal(protocol.MessageBody{Text: "old news"})
		env := &protocol.Envelope{Kind: protocol.KindMessage, Room: room, Lamport: uint64(i + 1),
			SentAt: time.Now().Add(-time.Duration(n-i) * time.Hour).UTC().Truncate(time.Millisecond), Body: body}
		if err := env.Sign(key); err != nil {
			t.Fatal(err)
		}
		msg, err := protocol.MessageFromEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddMessage(context.Background(), env, msg); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestPruningRaisesTheHorizonToTheNewestMessageDropped(t *testing.T) {
	st := storeWith(t, "old", 10)
	k := New(st, store.Retention{MaxAge: 150 * time.Minute}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	if err := k.Load(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if h := k.Horizon("old"); h != 0 {
		t.Fatalf("horizon %d before pruning, want 0", h)
	}
	k.Prune(ctx, "old")
	// Messages 1..8 were sent 10..3 hours ago, 9 and 10 within 150 min.
	if h := k.Horizon("old"); h != 8 {
		t.Fatalf("horizon %d after pruning, want 8 (the newest message dropped)", h)
	}
	msgs, _, err := st.History(ctx, "old", nil, 50)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("history holds %d messages (%v), want the 2 within the rule", len(msgs), err)
	}
	// A restarted keeper reads the horizon back from the store.
	again := New(st, store.Retention{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := again.Load(ctx, "old"); err != nil || again.Horizon("old") != 8 {
		t.Fatalf("reloaded horizon %d (%v), want 8", again.Horizon("old"), err)
	}
}

func TestWithoutARuleRunReturnsAtOnceAndKeepsEverything(t *testing.T) {
	st := storeWith(t, "kept", 3)
	k := New(st, store.Retention{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan struct{})
	go func() { k.Run(context.Background(), func() []string { return []string{"kept"} }); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run without a rule did not return")
	}
	msgs, _, _ := st.History(context.Background(), "kept", nil, 50)
	if len(msgs) != 3 {
		t.Fatalf("history holds %d messages, want all 3", len(msgs))
	}
}
