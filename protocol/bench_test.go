package protocol

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// The envelope is on every message's hot path: the sender encodes and
// signs it once, and every receiver decodes and verifies it once, inside
// gossipsub's validation, before the message is forwarded. These
// benchmarks price those steps for a typical 200-character message.

func benchEnvelope(b *testing.B) (crypto.PrivKey, *Envelope) {
	b.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(MessageBody{Text: strings.Repeat("x", 200), AuthorName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	env := &Envelope{Kind: KindMessage, Room: "bench", Lamport: 42, SentAt: time.Now().UTC().Truncate(time.Millisecond), Body: body}
	if err := env.Sign(key); err != nil {
		b.Fatal(err)
	}
	return key, env
}

// BenchmarkEnvelopeSign encodes and signs an envelope (what Send does).
func BenchmarkEnvelopeSign(b *testing.B) {
	key, env := benchEnvelope(b)
	b.ReportAllocs()
	for b.Loop() {
		e := &Envelope{Kind: env.Kind, Room: env.Room, Lamport: env.Lamport, SentAt: env.SentAt, Body: env.Body}
		if err := e.Sign(key); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(env.Bytes())))
}

// BenchmarkEnvelopeDecodeVerify decodes and verifies an envelope (what a
// receiver's validator does for every message).
func BenchmarkEnvelopeDecodeVerify(b *testing.B) {
	_, env := benchEnvelope(b)
	data := env.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnvelopeDecodeStored decodes without verifying (history reads).
func BenchmarkEnvelopeDecodeStored(b *testing.B) {
	_, env := benchEnvelope(b)
	data := env.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeStored(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageFromEnvelope decodes the JSON body into the API's
// message (every receive, every history read).
func BenchmarkMessageFromEnvelope(b *testing.B) {
	_, env := benchEnvelope(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MessageFromEnvelope(env); err != nil {
			b.Fatal(err)
		}
	}
}
