package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// signedWith builds an envelope's encoding by hand from signed bytes, with
// a valid signature, so that a test can hand the decoder encodings that
// Sign never writes and see them refused for their form alone.
func signedWith(t *testing.T, key crypto.PrivKey, signed []byte) []byte {
	t.Helper()
	sig, err := key.Sign(append([]byte(signingDomain), signed...))
	if err != nil {
		t.Fatal(err)
	}
	return appendString(signed, string(sig))
}

// padUvarint writes v as a varint one byte longer than needed.
func padUvarint(b []byte, v uint64) []byte {
	enc := binary.AppendUvarint(nil, v)
	enc[len(enc)-1] |= 0x80
	return append(append(b, enc...), 0)
}

func TestEnvelopeWithPaddedVarintIsRefusedAsNonMinimal(t *testing.T) {
	key := testKey(t)
	author, _ := peer.IDFromPrivateKey(key)
	fields := func(padLamport, padKindLen bool) []byte {
		b := []byte{Version}
		if padKindLen {
			b = append(padUvarint(b, uint64(len(KindMessage))), KindMessage...)
		} else {
			b = appendString(b, KindMessage)
		}
		b = appendString(b, "lobby")
		b = appendString(b, string(author))
		if padLamport {
			b = padUvarint(b, 7)
		} else {
			b = binary.AppendUvarint(b, 7)
		}
		b = binary.AppendVarint(b, 1_700_000_000_123)
		return appendString(b, `{"text":"hi"}`)
	}
	if _, err := Decode(signedWith(t, key, fields(false, false))); err != nil {
		t.Fatalf("the minimal encoding was refused: %v", err)
	}
	for name, signed := range map[string][]byte{
		"padded lamport":     fields(true, false),
		"padded kind length": fields(false, true),
	} {
		_, err := Decode(signedWith(t, key, signed))
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrNonMinimalVarint) {
			t.Errorf("%s: want ErrMalformed and ErrNonMinimalVarint, got %v", name, err)
		}
	}
}

// TestStoredEnvelopeWithPaddedVarintStaysReadable checks the other side
// of the rule: DecodeStored reads such an envelope (a node may hold one
// from before the rule), and Verify, which every receiver runs, refuses it.
func TestStoredEnvelopeWithPaddedVarintStaysReadable(t *testing.T) {
	key := testKey(t)
	author, _ := peer.IDFromPrivateKey(key)
	b := appendString([]byte{Version}, KindMessage)
	b = appendString(b, "lobby")
	b = appendString(b, string(author))
	b = padUvarint(b, 7)
	b = binary.AppendVarint(b, 1_700_000_000_123)
	b = appendString(b, `{"text":"hi"}`)
	e, err := DecodeStored(signedWith(t, key, b))
	if err != nil || e.Lamport != 7 {
		t.Fatalf("stored envelope read as %+v, %v", e, err)
	}
	if err := e.Verify(); !errors.Is(err, ErrNonMinimalVarint) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("Verify: want ErrMalformed and ErrNonMinimalVarint, got %v", err)
	}
}

func TestZeroLamportIsRefusedByValidationWithItsOwnError(t *testing.T) {
	key := testKey(t)
	now := time.Now()
	e := &Envelope{Kind: KindMessage, Room: "lobby", Lamport: 0, SentAt: now, Body: []byte(`{"text":"hi"}`)}
	if err := e.Sign(key); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(e.Bytes())
	if err != nil {
		t.Fatalf("decode refused Lamport 0, which validation should refuse by name: %v", err)
	}
	if err := got.Validate("lobby", now); !errors.Is(err, ErrZeroLamport) || errors.Is(err, ErrMalformed) {
		t.Fatalf("want ErrZeroLamport alone, got %v", err)
	}
	e.Lamport = 1
	if err := e.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := e.Validate("lobby", now); err != nil {
		t.Fatalf("Lamport 1 refused: %v", err)
	}
}

// TestAuthorInAnotherEncodingOfItsKeyIsRefused writes the author's public
// key protobuf with its two fields swapped, which the key parser accepts:
// the same key under a second peer ID must not pass as a second author.
func TestAuthorInAnotherEncodingOfItsKeyIsRefused(t *testing.T) {
	key := testKey(t)
	raw, err := key.GetPublic().Raw()
	if err != nil {
		t.Fatal(err)
	}
	pb := append([]byte{0x12, byte(len(raw))}, raw...)
	pb = append(pb, 0x08, 0x01) // Type = Ed25519, after Data
	author := append([]byte{0x00, byte(len(pb))}, pb...)
	if pub, err := peer.ID(author).ExtractPublicKey(); err != nil || !pub.Equals(key.GetPublic()) {
		t.Skipf("the key parser refuses the swapped encoding itself (%v)", err)
	}
	e := &Envelope{Version: Version, Kind: KindMessage, Room: "lobby", Author: peer.ID(author), Lamport: 1, SentAt: time.Now(), Body: []byte(`{"text":"hi"}`)}
	signed, err := e.appendSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(signedWith(t, key, signed)); !errors.Is(err, ErrSignature) {
		t.Fatalf("want ErrSignature, got %v", err)
	}
}

func TestFrameWithPaddedLengthIsRefused(t *testing.T) {
	for name, data := range map[string][]byte{
		"padded empty length": {byte(FrameDone), 0x80, 0x00},
		"padded length":       {byte(FrameError), 0x81, 0x00, 'x'},
	} {
		_, _, err := ReadFrame(bufio.NewReader(bytes.NewReader(data)))
		if !errors.Is(err, ErrFrame) || !errors.Is(err, ErrNonMinimalVarint) {
			t.Errorf("%s: want ErrFrame and ErrNonMinimalVarint, got %v", name, err)
		}
	}
}

func TestDoneFrameWithPayloadIsRefused(t *testing.T) {
	_, _, err := ReadFrame(bufio.NewReader(bytes.NewReader([]byte{byte(FrameDone), 1, 0})))
	if !errors.Is(err, ErrFrame) {
		t.Fatalf("want ErrFrame, got %v", err)
	}
}

func TestHelloCarriesRoomZeroByteAndMinimalHorizon(t *testing.T) {
	h := Hello{Room: "lobby", Horizon: 300}
	enc := EncodeHello(h)
	if want := []byte("lobby\x00\xac\x02"); !bytes.Equal(enc, want) {
		t.Fatalf("hello encodes as %x, want %x", enc, want)
	}
	if got, err := DecodeHello(enc); err != nil || got != h {
		t.Fatalf("hello decodes as %+v, %v", got, err)
	}
	for name, b := range map[string][]byte{
		"padded horizon":      []byte("lobby\x00\x80\x00"),
		"no horizon":          []byte("lobby"),
		"bytes after horizon": []byte("lobby\x00\x01\x00"),
		"bad room":            []byte("lob by\x00\x00"),
	} {
		if _, err := DecodeHello(b); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: want ErrFrame, got %v", name, err)
		}
	}
	if _, err := DecodeHello([]byte("lobby\x00\x80\x00")); !errors.Is(err, ErrNonMinimalVarint) {
		t.Errorf("padded horizon: want ErrNonMinimalVarint, got %v", err)
	}
}

func TestAgentVersionIsPeerchatSlashTheRelease(t *testing.T) {
	if got := AgentVersion("1.2.3"); got != "peerchat/1.2.3" {
		t.Fatalf("agent version %q", got)
	}
}

func TestGossipMessageIDIsTheRawSHA256OfTheData(t *testing.T) {
	id := GossipMessageID([]byte("abc"))
	want := "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10\xff\x61\xf2\x00\x15\xad"
	if id != want {
		t.Fatalf("message ID %x, want %x", id, want)
	}
}
