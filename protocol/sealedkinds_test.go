package protocol

import (
	"errors"
	"testing"
	"time"
)

func TestSealedKindsDecodeAndValidateWithoutKeys(t *testing.T) {
	key := testKey(t)
	for _, kind := range []string{KindSealedMessage, KindSealedEpoch, KindSealedJoin, KindSealedKeys} {
		e := &Envelope{Kind: kind, Room: "pv1-abcdefghijklmnopqrstuvwxyz234567", Lamport: 4, SentAt: time.Now(), Body: []byte{1, 2, 3}}
		if err := e.Sign(key); err != nil {
			t.Fatal(err)
		}
		d, err := Decode(e.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if err := d.Validate(e.Room, time.Now()); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !IsSealedKind(kind) || Ephemeral(kind) || RetentionExempt(kind) != (kind == KindSealedEpoch) {
			t.Fatalf("%s: sealed %v, ephemeral %v", kind, IsSealedKind(kind), Ephemeral(kind))
		}
	}
	if IsSealedKind(KindMessage) {
		t.Fatal("a public message counted as sealed")
	}
}

func TestSealedMessagePlaintextIsReadStrictly(t *testing.T) {
	key := testKey(t)
	e := &Envelope{Kind: KindSealedMessage, Room: "pv1-x", Lamport: 4, SentAt: time.Now(), Body: []byte{1}}
	if err := e.Sign(key); err != nil {
		t.Fatal(err)
	}
	m, err := MessageFromSealed(e, []byte(`{"text":"hi","name":"Bob"}`))
	if err != nil || m.Text != "hi" || m.AuthorName != "Bob" || m.ID != e.ID().String() {
		t.Fatalf("%+v, %v", m, err)
	}
	for _, bad := range []string{`{"TEXT":"hi"}`, `{"text":"hi","text":"ho"}`, `{"text":""}`, `[]`} {
		if _, err := MessageFromSealed(e, []byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if s := SealedStub(e); s.Text != "" || s.ID != e.ID().String() {
		t.Fatalf("stub %+v", s)
	}
}
