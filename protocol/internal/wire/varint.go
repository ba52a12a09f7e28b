// Package wire holds the varint readers shared by peerchat's encodings.
// They differ from encoding/binary's in one rule: they accept only the
// minimal encoding of each value. A value with two encodings would give one
// envelope two IDs, and would let two implementations disagree about
// whether a frame is valid, so every decoder in protocol/ reads its varints
// here and docs/protocol.md promises exactly one encoding.
package wire

import (
	"encoding/binary"
	"errors"
	"io"
)

// ErrNonMinimal reports a varint written with more bytes than its value
// needs, such as 0x80 0x00 for zero. Decoders wrap it in their own
// sentinel error, so a caller can match either.
var ErrNonMinimal = errors.New("non-minimal varint")

// ErrVarint reports bytes that are no varint at all: truncated, or longer
// than ten bytes, or overflowing 64 bits.
var ErrVarint = errors.New("bad varint")

// Uvarint decodes a minimally encoded unsigned LEB128 varint from the
// front of b and returns it with the number of bytes read. A varint is
// minimal when it is one byte long or its last byte is not zero: a zero
// last byte adds no bits and could have been left out.
func Uvarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, ErrVarint
	}
	if n > 1 && b[n-1] == 0 {
		return 0, 0, ErrNonMinimal
	}
	return v, n, nil
}

// Varint decodes a minimally encoded zigzag varint (encoding/binary's
// signed form) from the front of b. The zigzag mapping is a bijection, so
// minimality of the unsigned form is minimality of the signed one.
func Varint(b []byte) (int64, int, error) {
	u, n, err := Uvarint(b)
	if err != nil {
		return 0, 0, err
	}
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x, n, nil
}

// ReadUvarint reads a minimally encoded unsigned varint from r one byte at
// a time, so that it never consumes more than the varint. An end of input
// before the first byte is io.EOF; one inside the varint is
// io.ErrUnexpectedEOF.
func ReadUvarint(r io.ByteReader) (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	for i := range buf {
		c, err := r.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		buf[i] = c
		if c < 0x80 {
			v, _, err := Uvarint(buf[:i+1])
			return v, err
		}
	}
	return 0, ErrVarint
}
