package intake

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/private"
	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// logPublisher signs as the sender would and keeps what it published, in
// order: the test hands it to the other side's intake.
type logPublisher struct {
	key crypto.PrivKey
	mu  sync.Mutex
	n   uint64
	log []*protocol.Envelope
}

func (p *logPublisher) Publish(_ context.Context, kind, room string, body func(sealed.Header) ([]byte, error)) (*protocol.Envelope, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	id, _ := peer.IDFromPrivateKey(p.key)
	e := &protocol.Envelope{Kind: kind, Room: room, Author: id, Lamport: 100 + p.n, SentAt: time.Now().UTC().Truncate(time.Millisecond)}
	b, err := body(sealed.HeaderOf(e))
	if err != nil {
		return nil, err
	}
	e.Body = b
	if err := e.Sign(p.key); err != nil {
		return nil, err
	}
	p.log = append(p.log, e)
	return e, nil
}

func (p *logPublisher) take() []*protocol.Envelope {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.log
	p.log = nil
	return out
}

// newRole is a private role over st, publishing into a log.
func newRole(t *testing.T, st *store.Store) (*private.Private, *logPublisher) {
	t.Helper()
	pub := &logPublisher{key: newKey(t)}
	p, err := private.New(private.Config{Key: pub.key, Store: st, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p, pub
}

// withPrivate gives the fixture's intake a private role over its store.
func withPrivate(t *testing.T, f *fixture) (*private.Private, *logPublisher) {
	p, pub := newRole(t, f.st)
	f.in.cfg.Private = p
	return p, pub
}

// deliver runs envs through the fixture's Check and Accept, as gossip
// would, and fails on a refusal.
func deliver(t *testing.T, f *fixture, envs ...*protocol.Envelope) {
	t.Helper()
	for _, e := range envs {
		rcv, err := f.in.Check(e.Room, e.Bytes())
		if err != nil {
			t.Fatalf("%s refused: %v", e.Kind, err)
		}
		f.in.Accept(context.Background(), e.Room, rcv)
	}
}

func eventTypes(t *testing.T, st *store.Store) []string {
	t.Helper()
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	raws, _ := st.Events(context.Background(), 0, 100)
	var out []string
	for _, r := range raws {
		var ev protocol.Event
		json.Unmarshal(r.JSON, &ev)
		out = append(out, ev.Type)
	}
	return out
}

func messageBody(text string) []byte {
	b, _ := json.Marshal(protocol.MessageBody{Text: text, AuthorName: "owner"})
	return b
}

// privateRoom makes a room owned by a role on its own store that lets in
// whoever asks, and a member fixture that asked and was let in, with the
// owner's envelopes not yet delivered to it.
func privateRoom(t *testing.T) (owner *private.Private, ownerPub *logPublisher, member *fixture, room string) {
	owner, ownerPub, member, room, _ = privateRoomKey(t)
	return owner, ownerPub, member, room
}

// privateRoomKey is privateRoom that also returns the member's key.
func privateRoomKey(t *testing.T) (owner *private.Private, ownerPub *logPublisher, member *fixture, room string, memberKey crypto.PrivKey) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ost, err := store.Open(filepath.Join(t.TempDir(), "owner"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ost.Close() })
	owner, ownerPub = newRole(t, ost)
	ctx := context.Background()
	room, inv, err := owner.Create(ctx, "club", private.CreateOptions{AutoApprove: true})
	if err != nil {
		t.Fatal(err)
	}
	member = newFixture(t, abuse.RateLimit{})
	mp, memberPub := withPrivate(t, member)
	if _, err := mp.AcceptInvite(ctx, inv.String(), "member"); err != nil {
		t.Fatal(err)
	}
	for _, e := range memberPub.take() {
		if err := owner.Check(e); err != nil {
			t.Fatal(err)
		}
		if _, err := owner.Accept(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return owner, ownerPub, member, room, memberPub.key
}

func TestASealedMessageThatOpensIsStoredAsHistoryWithAnEventAndReachesTheSignals(t *testing.T) {
	owner, ownerPub, member, room := privateRoom(t)
	ctx := context.Background()
	if _, err := owner.Send(ctx, room, messageBody("the secret")); err != nil {
		t.Fatal(err)
	}
	deliver(t, member, ownerPub.take()...) // genesis, add, message
	types := eventTypes(t, member.st)
	if len(types) != 2 || types[0] != protocol.EventRoomJoined || types[1] != protocol.EventMessage {
		t.Fatalf("events %v, want room.joined then message", types)
	}
	msgs, _, err := member.st.History(ctx, room, nil, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "the secret" || msgs[0].AuthorName != "owner" {
		t.Fatalf("history %+v (%v)", msgs, err)
	}
	if len(member.signals.kinds) != 1 || member.signals.kinds[0] != protocol.KindMessage {
		t.Fatalf("signals got %v, want one message", member.signals.kinds)
	}
	if n, _ := member.st.CountMessages(ctx, room); n != 3 {
		t.Fatalf("%d envelopes stored, want the 3 sealed ones", n)
	}
}

func TestAStoreWithoutKeysKeepsTheCiphertextAndShowsNothing(t *testing.T) {
	owner, ownerPub, _, room := privateRoom(t)
	ctx := context.Background()
	if _, err := owner.Send(ctx, room, messageBody("the secret")); err != nil {
		t.Fatal(err)
	}
	relay := newFixture(t, abuse.RateLimit{})
	withPrivate(t, relay)
	deliver(t, relay, ownerPub.take()...)
	if types := eventTypes(t, relay.st); len(types) != 0 {
		t.Fatalf("a store without keys appended events %v", types)
	}
	if msgs, _, err := relay.st.History(ctx, room, nil, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("history %+v (%v), want nothing", msgs, err)
	}
	if n, _ := relay.st.CountMessages(ctx, room); n != 3 {
		t.Fatalf("%d envelopes stored, want the 3 sealed ones", n)
	}
}

func TestSealedRefusalsAreCountedByTheirReasonAndAnUnknownEpochIsIgnored(t *testing.T) {
	owner, ownerPub, member, room := privateRoom(t)
	ctx := context.Background()
	envs := ownerPub.take() // genesis, add
	if _, err := owner.Send(ctx, room, messageBody("early")); err != nil {
		t.Fatal(err)
	}
	early := ownerPub.take()[0]
	// Its epoch has not arrived here: sync brings it, so the forwarder is
	// not punished.
	if got := validate(member, room, peer.ID("fwd"), early.Bytes()); got != pubsub.ValidationIgnore {
		t.Fatalf("a message of an unknown epoch got %v, want ignore", got)
	}
	if member.rejected("unknown_epoch") != 1 {
		t.Fatalf("unknown_epoch counted %v times", member.rejected("unknown_epoch"))
	}
	deliver(t, member, envs...)
	// Written by someone who holds no epoch key: the write signature fails.
	forged := &protocol.Envelope{Kind: protocol.KindSealedMessage, Room: room, Lamport: 500, SentAt: time.Now().UTC().Truncate(time.Millisecond), Body: early.Body}
	if err := forged.Sign(newKey(t)); err != nil {
		t.Fatal(err)
	}
	if got := validate(member, room, peer.ID("fwd"), forged.Bytes()); got != pubsub.ValidationReject {
		t.Fatalf("a forged sealed message got %v, want reject", got)
	}
	if member.rejected("write_signature") != 1 {
		t.Fatalf("write_signature counted %v times", member.rejected("write_signature"))
	}
}

func TestOnStartStoredSealedMessagesThatDidNotOpenAreOpenedByReplay(t *testing.T) {
	owner, ownerPub, member, room, memberKey := privateRoomKey(t)
	ctx := context.Background()
	deliver(t, member, ownerPub.take()...)
	if _, err := owner.Send(ctx, room, messageBody("stored before a crash")); err != nil {
		t.Fatal(err)
	}
	// The envelope reached the disk, its opening did not (a crash, or an
	// epoch held in memory only).
	if _, err := member.st.AddSealed(ctx, ownerPub.take()[0], true); err != nil {
		t.Fatal(err)
	}
	// A start: a fresh role of the same identity loads the key state
	// from the store, then replay.
	p, err := private.New(private.Config{Key: memberKey, Store: member.st, Publisher: &logPublisher{key: memberKey}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Load(ctx); err != nil {
		t.Fatal(err)
	}
	member.in.cfg.Private = p
	if err := member.in.Replay(ctx, []string{room}); err != nil {
		t.Fatal(err)
	}
	if err := member.st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, _, err := member.st.History(ctx, room, nil, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "stored before a crash" {
		t.Fatalf("history after replay %+v (%v)", msgs, err)
	}
	if err := member.in.Replay(ctx, []string{room}); err != nil {
		t.Fatal(err)
	}
	if types := eventTypes(t, member.st); len(types) != 2 {
		t.Fatalf("events %v, want room.joined and one message: replay opens once", types)
	}
}
