package protocol

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
)

func testKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testEnvelope(t testing.TB, key crypto.PrivKey) *Envelope {
	t.Helper()
	e := &Envelope{Kind: KindMessage, Room: "lobby", Lamport: 7, SentAt: time.UnixMilli(1_700_000_000_123).UTC(), Body: []byte(`{"text":"hi"}`)}
	if err := e.Sign(key); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEnvelopeRoundTripKeepsEveryFieldAndID(t *testing.T) {
	key := testKey(t)
	e := testEnvelope(t, key)
	got, err := Decode(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != e.ID() || got.Room != e.Room || got.Kind != e.Kind || got.Lamport != 7 ||
		!got.SentAt.Equal(e.SentAt) || !bytes.Equal(got.Body, e.Body) || got.Author != e.Author {
		t.Fatalf("decoded %+v, want %+v", got, e)
	}
	again := testEnvelope(t, key)
	if again.ID() != e.ID() {
		t.Fatal("signing the same envelope twice gave two IDs")
	}
}

func TestEveryFlippedByteIsRejected(t *testing.T) {
	e := testEnvelope(t, testKey(t))
	data := e.Bytes()
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		if _, err := Decode(bad); err == nil {
			t.Fatalf("flipping byte %d of %d went unnoticed", i, len(data))
		}
	}
}

func TestDecodeNamesTheReason(t *testing.T) {
	key := testKey(t)
	e := testEnvelope(t, key)
	versioned := bytes.Clone(e.Bytes())
	versioned[0] = 2
	unknownKind := &Envelope{Kind: "poll", Room: "lobby", SentAt: time.Now(), Body: []byte("{}")}
	if err := unknownKind.Sign(key); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated", e.Bytes()[:len(e.Bytes())-3], ErrMalformed},
		{"trailing bytes", append(bytes.Clone(e.Bytes()), 0), ErrMalformed},
		{"version", versioned, ErrVersion},
		{"kind", unknownKind.Bytes(), ErrKind},
		{"too large", make([]byte, MaxEnvelopeBytes+1), ErrTooLarge},
		{"huge length field", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrMalformed},
	}
	for _, c := range cases {
		if _, err := Decode(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestValidateChecksRoomAndFutureTime(t *testing.T) {
	e := testEnvelope(t, testKey(t))
	if err := e.Validate("other", time.Now()); !errors.Is(err, ErrWrongRoom) {
		t.Fatalf("wrong room: %v", err)
	}
	if err := e.Validate("lobby", e.SentAt.Add(-time.Hour)); !errors.Is(err, ErrFutureSentAt) {
		t.Fatalf("future: %v", err)
	}
	if err := e.Validate("lobby", e.SentAt); err != nil {
		t.Fatalf("valid envelope: %v", err)
	}
}

func TestSignRefusesOversizedEnvelopes(t *testing.T) {
	e := &Envelope{Kind: KindMessage, Room: "lobby", SentAt: time.Now(), Body: make([]byte, MaxEnvelopeBytes)}
	if err := e.Sign(testKey(t)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
}

func TestRoomNames(t *testing.T) {
	for _, ok := range []string{"a", "lobby", "dev-2_x.y", strings.Repeat("r", 64)} {
		if err := ValidateRoomName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a b", "a/b", "ü", strings.Repeat("r", 65)} {
		if err := ValidateRoomName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPresenceBodiesOutsideTheirBoundsAreMalformed(t *testing.T) {
	for body, wantErr := range map[string]bool{
		`{"status":"online","lease_ms":20000}`:                      false,
		`{"status":"online","lease_ms":20000,"room_size":300}`:      false,
		`{"status":"online","lease_ms":600000,"room_size":1048576}`: false,
		`{"status":"online","lease_ms":600001}`:                     true,
		`{"status":"online","lease_ms":20000,"room_size":-1}`:       true,
		`{"status":"online","lease_ms":20000,"room_size":1048577}`:  true,
	} {
		env := &Envelope{Kind: KindPresence, Room: "r", Body: []byte(body)}
		if _, err := DecodePresence(env); (err != nil) != wantErr {
			t.Errorf("%s: err = %v, want error %v", body, err, wantErr)
		} else if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", body, err)
		}
	}
}
