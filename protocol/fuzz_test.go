package protocol

import (
	"bufio"
	"bytes"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the envelope decoder: it must never
// panic, and anything it accepts must re-encode to the same bytes.
func FuzzDecode(f *testing.F) {
	key := testKey(f)
	for _, kind := range []string{KindMessage, KindTyping, KindPresence, KindReceipt} {
		e := &Envelope{Kind: kind, Room: "lobby", Lamport: 3, SentAt: time.Now(), Body: []byte(`{"text":"x","ttl_ms":1,"status":"online","kind":"read"}`)}
		if err := e.Sign(key); err != nil {
			f.Fatal(err)
		}
		f.Add(e.Bytes())
	}
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		author, authorOK := AuthorOf(data) // must never panic, whatever data is
		if stored, err := DecodeStored(data); err == nil && (!authorOK || string(author) != string(stored.Author)) {
			t.Fatalf("AuthorOf read %q (ok %v), the decoder %q", author, authorOK, stored.Author)
		}
		e, err := Decode(data)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Bytes(), data) {
			t.Fatal("accepted envelope does not keep its bytes")
		}
		for _, dec := range []func(*Envelope) error{
			func(e *Envelope) error { _, err := MessageFromEnvelope(e); return err },
			func(e *Envelope) error { _, err := DecodeTyping(e); return err },
			func(e *Envelope) error { _, err := DecodePresence(e); return err },
			func(e *Envelope) error { _, err := DecodeReceipt(e); return err },
		} {
			_ = dec(e)
		}
	})
}

// FuzzReadFrame feeds arbitrary bytes to the sync frame reader and the
// Want frame decoder: no panic, no allocation beyond the frame limit.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	WriteFrame(&buf, FrameHello, EncodeHello(Hello{Room: "lobby", Horizon: 9}))
	WriteFrame(&buf, FrameWant, EncodeIDs([]ID{{1}, {2}}))
	WriteFrame(&buf, FrameWantKeys, EncodeKeys([]uint64{1, 1 << 63}))
	WriteFrame(&buf, FrameDone, nil)
	f.Add(buf.Bytes())
	f.Add([]byte{4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{9, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			typ, payload, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(payload) > MaxFrameBytes {
				t.Fatalf("frame of %d bytes accepted", len(payload))
			}
			switch typ {
			case FrameWant:
				DecodeIDs(payload)
			case FrameWantKeys:
				DecodeKeys(payload)
			case FrameHello:
				DecodeHello(payload)
			}
		}
	})
}
