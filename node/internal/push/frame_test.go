package push

import (
	"bufio"
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

// Frames written by appendFrame read back as they were; a frame of an
// unknown type, a length beyond the bound or a cut payload is refused.
func TestFramesRoundTripAndRefuseWhatBreaksTheRules(t *testing.T) {
	rooms := []string{"den", "bars", "ünï"}
	env := []byte("an encoded envelope")
	var b []byte
	b = appendFrame(b, frameRooms, encodeRooms(rooms))
	b = appendFrame(b, frameEnvelope, encodeEnvelope("den", env))
	rd := bufio.NewReader(bytes.NewReader(b))
	typ, payload, err := readFrame(rd)
	if err != nil || typ != frameRooms {
		t.Fatalf("first frame: type %d, err %v", typ, err)
	}
	if got, err := decodeRooms(payload); err != nil || !slices.Equal(got, rooms) {
		t.Fatalf("rooms = %q, %v; want %q", got, err, rooms)
	}
	typ, payload, err = readFrame(rd)
	if err != nil || typ != frameEnvelope {
		t.Fatalf("second frame: type %d, err %v", typ, err)
	}
	room, got, err := decodeEnvelope(payload)
	if err != nil || room != "den" || !bytes.Equal(got, env) {
		t.Fatalf("envelope = %q %q %v", room, got, err)
	}

	for name, raw := range map[string][]byte{
		"unknown type":  {9, 0},
		"too long":      {frameEnvelope, 0x80, 0x80, 0x10}, // 256 KiB
		"cut payload":   {frameEnvelope, 5, 'a'},
		"huge length":   {frameEnvelope, 0xff, 0xff, 0xff, 0x7f},
		"empty payload": appendFrame(nil, frameEnvelope, encodeEnvelope("den", nil)),
	} {
		typ, payload, err := readFrame(bufio.NewReader(bytes.NewReader(raw)))
		if err == nil && typ == frameEnvelope {
			_, _, err = decodeEnvelope(payload)
		}
		if !errors.Is(err, errFrame) {
			t.Errorf("%s: err = %v, want errFrame", name, err)
		}
	}
	if _, err := decodeRooms([]byte{3, 'a'}); !errors.Is(err, errFrame) {
		t.Errorf("cut room name: err = %v, want errFrame", err)
	}
}

// A circuit refuses the write that would pass its usable share of the
// relay's data limit, books nothing for it, and keeps a quarter (at least
// minReserve) of the limit for what libp2p writes unseen.
func TestCircuitBudgetRefusesTheWriteThatWouldPassIt(t *testing.T) {
	c := &circuit{limit: 128 << 10}
	if got, want := c.usable(), int64(96<<10); got != want {
		t.Fatalf("usable = %d, want %d", got, want)
	}
	small := &circuit{limit: 8 << 10}
	if got, want := small.usable(), int64(4<<10); got != want {
		t.Fatalf("usable of an 8 KiB limit = %d, want %d", got, want)
	}
	n := 0
	for c.charge(1000) {
		n++
	}
	if want := int(c.usable() / cost(1000)); n != want {
		t.Errorf("%d writes of 1000 bytes fit, want %d", n, want)
	}
	before := c.sent.Load()
	if c.charge(1000) || c.sent.Load() != before {
		t.Errorf("a refused write was booked")
	}
	if c.sent.Load() > c.usable() {
		t.Errorf("booked %d, past the usable %d", c.sent.Load(), c.usable())
	}
	if !(&circuit{}).charge(protocol.MaxEnvelopeBytes) {
		t.Errorf("a circuit with no data limit refused a write")
	}
}
