package protocol

import (
	"bufio"
	"bytes"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the envelope decoder: it must never
// panic, and anything it accepts must re-encode to the same bytes, which is
// what makes the encoding canonical (one envelope, one ID).
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
		if stored, err := DecodeStored(data); err == nil {
			if !authorOK || string(author) != string(stored.Author) {
				t.Fatalf("AuthorOf read %q (ok %v), the decoder %q", author, authorOK, stored.Author)
			}
		}
		if strict, err := DecodeStored(data); err == nil && strict.nonCanonical == nil {
			signed, err := strict.appendSigned(nil)
			if err != nil {
				t.Fatalf("accepted envelope does not re-encode: %v", err)
			}
			again := appendString(signed, string(strict.Signature))
			if !bytes.Equal(again, data) {
				t.Fatalf("accepted %x, which re-encodes as %x", data, again)
			}
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
// payload decoders: no panic, no allocation beyond the frame limit, and
// every frame and Hello accepted re-encodes to the bytes it was read from.
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
		rest := data
		for {
			typ, payload, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(payload) > MaxFrameBytes {
				t.Fatalf("frame of %d bytes accepted", len(payload))
			}
			var again bytes.Buffer
			if err := WriteFrame(&again, typ, payload); err != nil || !bytes.HasPrefix(rest, again.Bytes()) {
				t.Fatalf("accepted a frame that re-encodes as %x (%v), read from %x", again.Bytes(), err, rest)
			}
			rest = rest[again.Len():]
			switch typ {
			case FrameWant:
				DecodeIDs(payload)
			case FrameWantKeys:
				DecodeKeys(payload)
			case FrameHello:
				if h, err := DecodeHello(payload); err == nil && !bytes.Equal(EncodeHello(h), payload) {
					t.Fatalf("accepted hello %x, which re-encodes as %x", payload, EncodeHello(h))
				}
			}
		}
	})
}
