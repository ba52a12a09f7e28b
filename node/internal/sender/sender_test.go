package sender

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/peerchat/peerchat/node/gossip"
	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/events"
	"github.com/peerchat/peerchat/node/internal/fault"
	"github.com/peerchat/peerchat/node/internal/metrics"
	"github.com/peerchat/peerchat/node/internal/rooms"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lonely is a sender on a real host and gossipsub with no peer, joined
// to room "solo".
func lonely(t *testing.T, limit abuse.RateLimit) (*Sender, *store.Store) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps, err := gossip.New(ctx, h, pubsub.WithPeerScore(abuse.PeerScoreParams(func(peer.ID) float64 { return 0 }), abuse.PeerScoreThresholds()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	set := rooms.New(ctx, ps, st, rooms.Hooks{
		Joining: func(context.Context, string) error { return nil },
		Validator: func(string) pubsub.ValidatorEx {
			return func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
				return pubsub.ValidationAccept
			}
		},
		Deliver:    func(context.Context, string, any) {},
		PeerJoined: func(string, peer.ID) {},
		Announce:   func(ctx context.Context, _ string, _ <-chan struct{}) { <-ctx.Done() },
	})
	t.Cleanup(func() { set.Close(); cancel(); h.Close(); st.Close() })
	if err := set.Join(context.Background(), "solo"); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Key: key, Name: "me", Store: st, Rooms: set, Limit: limit,
		Metrics: metrics.New(prometheus.NewRegistry(), st), Events: events.New(st, log), Log: log})
	return s, st
}

// statuses lists the message.status events of the store's log, in order,
// once what was appended is on disk (events are shown only then).
func statuses(t *testing.T, st *store.Store) []string {
	t.Helper()
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	raws, err := st.Events(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, raw := range raws {
		ev, err := store.DecodeEvent(raw)
		if err == nil && ev.Type == protocol.EventMessageStatus {
			out = append(out, ev.Status)
		}
	}
	return out
}

func TestAMessageSentToNobodyIsQueuedUntilASyncHandsItOver(t *testing.T) {
	s, st := lonely(t, abuse.RateLimit{})
	ctx := context.Background()
	msg, created, err := s.Send(ctx, ctx, "solo", "anyone there?", "")
	if err != nil || !created {
		t.Fatalf("send: created=%v err=%v", created, err)
	}
	if got := statuses(t, st); len(got) != 1 || got[0] != protocol.MessageQueued {
		t.Fatalf("statuses %v, want [queued]", got)
	}
	s.Synced(ctx, "solo")
	s.Synced(ctx, "solo") // the outbox is empty now: nothing more
	if got := statuses(t, st); len(got) != 2 || got[1] != protocol.MessageSent {
		t.Fatalf("statuses %v, want [queued sent]", got)
	}
	if has, err := st.Has(ctx, mustID(t, msg.ID)); err != nil || !has {
		t.Fatalf("the message is not stored: %v", err)
	}
}

func TestTheSameClientMessageIDSendsNothingTwice(t *testing.T) {
	s, _ := lonely(t, abuse.RateLimit{})
	ctx := context.Background()
	first, _, err := s.Send(ctx, ctx, "solo", "once", "client-1")
	if err != nil {
		t.Fatal(err)
	}
	again, created, err := s.Send(ctx, ctx, "solo", "once", "client-1")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("resend: id %s created=%v err=%v, want the first message %s, not created", again.ID, created, err, first.ID)
	}
}

func TestRefusedSendsSayWhyAndStoreNothing(t *testing.T) {
	s, st := lonely(t, abuse.RateLimit{PerSecond: 0.001, Burst: 1})
	ctx := context.Background()
	for name, c := range map[string]struct {
		room, text, clientID string
		code                 fault.Code
	}{
		"a room not joined":    {"elsewhere", "hi", "", fault.CodeNotFound},
		"a bad room name":      {"no spaces", "hi", "", fault.CodeInvalid},
		"a text too long":      {"solo", strings.Repeat("x", protocol.MaxTextLen+1), "", fault.CodeTooLarge},
		"a client id too long": {"solo", "hi", strings.Repeat("c", protocol.MaxClientMsgIDLen+1), fault.CodeInvalid},
	} {
		_, _, err := s.Send(ctx, ctx, c.room, c.text, c.clientID)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Code != c.code {
			t.Errorf("%s: %v, want code %s", name, err, c.code)
		}
	}
	if _, _, err := s.Send(ctx, ctx, "solo", "within the burst", ""); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Send(ctx, ctx, "solo", "beyond it", "")
	if fault.ErrorCode(err) != fault.CodeRateLimited {
		t.Fatalf("send beyond the burst: %v, want %s", err, fault.CodeRateLimited)
	}
	msgs, _, _ := st.History(ctx, "solo", nil, 50)
	if len(msgs) != 1 {
		t.Fatalf("history holds %d messages, want only the one within the burst", len(msgs))
	}
}

func mustID(t *testing.T, s string) protocol.ID {
	t.Helper()
	id, err := protocol.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
