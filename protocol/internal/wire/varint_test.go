package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
)

// TestMinimalVarintsDecodeToTheirValue checks that every encoding
// encoding/binary writes is accepted, whatever its length, so enforcing
// minimality never refuses what an honest peer sends.
func TestMinimalVarintsDecodeToTheirValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 255, 300, 1 << 32, math.MaxUint64} {
		enc := binary.AppendUvarint(nil, v)
		got, n, err := Uvarint(enc)
		if err != nil || got != v || n != len(enc) {
			t.Errorf("Uvarint(%x) = %d, %d, %v; want %d", enc, got, n, err, v)
		}
		got, err = ReadUvarint(bytes.NewReader(enc))
		if err != nil || got != v {
			t.Errorf("ReadUvarint(%x) = %d, %v; want %d", enc, got, err, v)
		}
	}
	for _, v := range []int64{0, -1, 1, -64, 64, math.MinInt64, math.MaxInt64} {
		enc := binary.AppendVarint(nil, v)
		got, n, err := Varint(enc)
		if err != nil || got != v || n != len(enc) {
			t.Errorf("Varint(%x) = %d, %d, %v; want %d", enc, got, n, err, v)
		}
	}
}

// TestPaddedVarintsAreRefused checks the encodings encoding/binary would
// accept but never writes: a value padded with 0x80 continuation bytes and
// a zero last byte.
func TestPaddedVarintsAreRefused(t *testing.T) {
	for _, enc := range [][]byte{
		{0x80, 0x00},
		{0x81, 0x00},
		{0xff, 0x80, 0x00},
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
	} {
		if _, _, err := Uvarint(enc); !errors.Is(err, ErrNonMinimal) {
			t.Errorf("Uvarint(%x): want ErrNonMinimal, got %v", enc, err)
		}
		if _, _, err := Varint(enc); !errors.Is(err, ErrNonMinimal) {
			t.Errorf("Varint(%x): want ErrNonMinimal, got %v", enc, err)
		}
		if _, err := ReadUvarint(bytes.NewReader(enc)); !errors.Is(err, ErrNonMinimal) {
			t.Errorf("ReadUvarint(%x): want ErrNonMinimal, got %v", enc, err)
		}
	}
}

// TestBrokenVarintsAreRefused checks truncated and overlong input.
func TestBrokenVarintsAreRefused(t *testing.T) {
	for _, enc := range [][]byte{
		{},
		{0x80},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		if _, _, err := Uvarint(enc); !errors.Is(err, ErrVarint) {
			t.Errorf("Uvarint(%x): want ErrVarint, got %v", enc, err)
		}
	}
	if _, err := ReadUvarint(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("ReadUvarint of nothing: want io.EOF, got %v", err)
	}
	if _, err := ReadUvarint(bytes.NewReader([]byte{0x80})); err != io.ErrUnexpectedEOF {
		t.Errorf("ReadUvarint of a truncated varint: want io.ErrUnexpectedEOF, got %v", err)
	}
	long := bytes.Repeat([]byte{0xff}, 11)
	if _, err := ReadUvarint(bytes.NewReader(long)); !errors.Is(err, ErrVarint) {
		t.Errorf("ReadUvarint of 11 bytes: want ErrVarint, got %v", err)
	}
}
