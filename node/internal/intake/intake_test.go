package intake

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/metrics"
	"github.com/peerchat/peerchat/node/internal/names"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// routed records what the intake handed to the signals, by kind.
type routed struct {
	mu    sync.Mutex
	kinds []string
}

func (r *routed) add(kind string) { r.mu.Lock(); r.kinds = append(r.kinds, kind); r.mu.Unlock() }

func (r *routed) OnMessage(context.Context, string, peer.ID) { r.add(protocol.KindMessage) }
func (r *routed) OnTyping(context.Context, *protocol.Envelope, protocol.TypingBody) {
	r.add(protocol.KindTyping)
}
func (r *routed) OnPresence(context.Context, *protocol.Envelope, protocol.PresenceBody) {
	r.add(protocol.KindPresence)
}
func (r *routed) OnReceipt(context.Context, *protocol.Envelope, protocol.ReceiptBody) {
	r.add(protocol.KindReceipt)
}

type fixture struct {
	in      *Intake
	st      *store.Store
	m       *metrics.Metrics
	signals *routed
	horizon uint64
	// overLimit counts the refusals the guard handed on for a sync.
	overLimit atomic.Int32
}

func newFixture(t *testing.T, limit abuse.RateLimit) *fixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, m: metrics.New(prometheus.NewRegistry(), st), signals: &routed{}}
	f.in = New(Config{
		Self: peer.ID("self"), Store: st, Guard: abuse.NewGuard(limit, f.m.Reject, func(string, peer.ID) { f.overLimit.Add(1) }), Metrics: f.m,
		Names: names.New(), Horizon: func(string) uint64 { return f.horizon }, Signals: f.signals, Log: log,
	})
	return f
}

func (f *fixture) rejected(reason string) float64 {
	return testutil.ToFloat64(f.m.Rejected.WithLabelValues(reason))
}

func sign(t *testing.T, key crypto.PrivKey, room, kind string, lamport uint64, body any) []byte {
	t.Helper()
	data, _ := json.Marshal(body)
	env := &protocol.Envelope{Kind: kind, Room: room, Lamport: lamport, SentAt: time.Now().UTC().Truncate(time.Millisecond), Body: data}
	if err := env.Sign(key); err != nil {
		t.Fatal(err)
	}
	return env.Bytes()
}

func newKey(t *testing.T) crypto.PrivKey {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestEveryKindIsRoutedOnceToTheRoleThatActsOnIt(t *testing.T) {
	f := newFixture(t, abuse.RateLimit{})
	key := newKey(t)
	ctx := context.Background()
	for _, c := range []struct {
		kind string
		body any
	}{
		{protocol.KindMessage, protocol.MessageBody{Text: "hi"}},
		{protocol.KindTyping, protocol.TypingBody{Name: "a", TTLMS: 5000}},
		{protocol.KindPresence, protocol.PresenceBody{Name: "a", Status: protocol.StatusOnline, LeaseMS: 20000}},
		{protocol.KindReceipt, protocol.ReceiptBody{Kind: protocol.ReceiptRead, UpTo: protocol.ID{1}.String(), UpToLamport: 1}},
	} {
		rcv, err := f.in.Check("room", sign(t, key, "room", c.kind, 1, c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		f.in.Accept(ctx, "room", rcv)
	}
	want := []string{protocol.KindMessage, protocol.KindTyping, protocol.KindPresence, protocol.KindReceipt}
	if len(f.signals.kinds) != len(want) {
		t.Fatalf("routed %v, want %v", f.signals.kinds, want)
	}
	for i := range want {
		if f.signals.kinds[i] != want[i] {
			t.Fatalf("routed %v, want %v", f.signals.kinds, want)
		}
	}
	if err := f.st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, _, err := f.st.History(ctx, "room", nil, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("history holds %d messages (%v), want the one message and no signal", len(msgs), err)
	}
}

func TestAMessageAtOrBelowTheHorizonIsNotStoredAgain(t *testing.T) {
	f := newFixture(t, abuse.RateLimit{})
	f.horizon = 5
	key := newKey(t)
	ctx := context.Background()
	for _, lamport := range []uint64{4, 5, 6} {
		rcv, err := f.in.Check("room", sign(t, key, "room", protocol.KindMessage, lamport, protocol.MessageBody{Text: "x"}))
		if err != nil {
			t.Fatal(err)
		}
		f.in.Accept(ctx, "room", rcv)
	}
	if err := f.st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := f.st.History(ctx, "room", nil, 10)
	if len(msgs) != 1 || msgs[0].Lamport != 6 {
		t.Fatalf("stored %v, want only the message above the horizon", msgs)
	}
}

func TestRefusedEnvelopesAreCountedByReason(t *testing.T) {
	f := newFixture(t, abuse.RateLimit{})
	key := newKey(t)
	good := sign(t, key, "room", protocol.KindMessage, 1, protocol.MessageBody{Text: "x"})
	forged := append([]byte(nil), good...)
	forged[len(forged)-1] ^= 0xff
	stale := func() []byte {
		data, _ := json.Marshal(protocol.TypingBody{Name: "a", TTLMS: 5000})
		env := &protocol.Envelope{Kind: protocol.KindTyping, Room: "room", Lamport: 1, SentAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond), Body: data}
		if err := env.Sign(key); err != nil {
			t.Fatal(err)
		}
		return env.Bytes()
	}()
	for reason, data := range map[string][]byte{
		"signature":  forged,
		"wrong_room": sign(t, key, "elsewhere", protocol.KindMessage, 1, protocol.MessageBody{Text: "x"}),
		"malformed":  good[:len(good)/2],
		"version":    []byte("not an envelope"),
		"stale":      stale,
	} {
		if _, err := f.in.Check("room", data); err == nil {
			t.Fatalf("%s: accepted", reason)
		}
		if got := f.rejected(reason); got != 1 {
			t.Errorf("%s counted %v times, want 1", reason, got)
		}
	}
}

// validate runs the room's validator on data as if from peer from.
func validate(f *fixture, room string, from peer.ID, data []byte) pubsub.ValidationResult {
	topic := protocol.Topic(room)
	m := &pubsub.Message{Message: &pb.Message{Topic: &topic, Data: data}, ReceivedFrom: from}
	return f.in.Validator(room)(context.Background(), from, m)
}

func TestTheValidatorRejectsForgeriesAndIgnoresWhatIsOnlyOverTheLimit(t *testing.T) {
	f := newFixture(t, abuse.RateLimit{PerSecond: 0.001, Burst: 2, FirstBurst: 2})
	key := newKey(t)
	from := peer.ID("forwarder")
	for i := range 2 {
		if got := validate(f, "room", from, sign(t, key, "room", protocol.KindMessage, uint64(i+1), protocol.MessageBody{Text: "x"})); got != pubsub.ValidationAccept {
			t.Fatalf("message %d of the burst got %v", i+1, got)
		}
	}
	if got := validate(f, "room", from, sign(t, key, "room", protocol.KindMessage, 3, protocol.MessageBody{Text: "x"})); got != pubsub.ValidationIgnore {
		t.Fatalf("a message beyond the burst got %v, want ignore (the forwarder may be honest)", got)
	}
	forged := sign(t, newKey(t), "room", protocol.KindMessage, 1, protocol.MessageBody{Text: "x"})
	forged[len(forged)-1] ^= 0xff
	if got := validate(f, "room", from, forged); got != pubsub.ValidationReject {
		t.Fatalf("a forgery got %v, want reject", got)
	}
	if got := validate(f, "room", peer.ID("self"), []byte("anything")); got != pubsub.ValidationAccept {
		t.Fatalf("the node's own message got %v, want accept: it was stored before it was published", got)
	}
	if got := f.overLimit.Load(); got != 1 {
		t.Fatalf("%d over-limit refusals handed on for a sync, want 1", got)
	}
	if f.rejected("rate_limited") != 1 || f.rejected("signature") != 1 {
		t.Fatalf("rate_limited %v, signature %v; want 1 each", f.rejected("rate_limited"), f.rejected("signature"))
	}
}

// Nodes that predate this version's canonical rules accept and forward
// what those rules refuse; punishing the forwarder would let an attacker
// get honest old nodes graylisted.
func TestWhatOnlyTheNewCanonicalRulesRefuseIsIgnoredAndCountedByName(t *testing.T) {
	f := newFixture(t, abuse.RateLimit{})
	key := newKey(t)
	zero := sign(t, key, "room", protocol.KindMessage, 0, protocol.MessageBody{Text: "x"})
	if got := validate(f, "room", peer.ID("old-node"), zero); got != pubsub.ValidationIgnore {
		t.Fatalf("a Lamport 0 message got %v, want ignore", got)
	}
	lenient := sign(t, key, "room", protocol.KindMessage, 1, map[string]string{"TEXT": "x"})
	if got := validate(f, "room", peer.ID("old-node"), lenient); got != pubsub.ValidationIgnore {
		t.Fatalf("a body with a field in another case got %v, want ignore", got)
	}
	if f.rejected("zero_lamport") != 1 || f.rejected("non_canonical") != 1 {
		t.Fatalf("zero_lamport %v, non_canonical %v; want 1 each", f.rejected("zero_lamport"), f.rejected("non_canonical"))
	}
}
