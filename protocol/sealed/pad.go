package sealed

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// MaxPlaintext is the longest plaintext a sealed body carries: its length
// travels in two bytes. Any plaintext that fits a 64 KiB envelope fits.
const MaxPlaintext = 65535 - 2

// paddedLen returns the length a plaintext of n bytes is padded to, as
// NIP-44 does: at least 32, in 32-byte steps up to 256, then in steps of
// one eighth of the next power of two. Relays then learn a size class,
// not the exact length of a text.
func paddedLen(n int) int {
	if n <= 32 {
		return 32
	}
	next := 1 << bits.Len(uint(n-1))
	chunk := 32
	if next > 256 {
		chunk = next / 8
	}
	return chunk * ((n-1)/chunk + 1)
}

// pad returns plaintext behind its two-byte little-endian length (the byte order of every fixed-width integer in peerchat), followed
// by zeros up to paddedLen of length + 2.
func pad(plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("%w: plaintext of %d bytes, limit %d", ErrMalformed, len(plaintext), MaxPlaintext)
	}
	out := make([]byte, paddedLen(len(plaintext)+2))
	binary.LittleEndian.PutUint16(out, uint16(len(plaintext)))
	copy(out[2:], plaintext)
	return out, nil
}

// unpad undoes pad. It refuses a length that does not fit and nonzero
// padding, so that a padded plaintext has exactly one reading.
func unpad(padded []byte) ([]byte, error) {
	if len(padded) < 2 {
		return nil, fmt.Errorf("%w: padded plaintext of %d bytes", ErrMalformed, len(padded))
	}
	n := int(binary.LittleEndian.Uint16(padded))
	if n+2 > len(padded) || paddedLen(n+2) != len(padded) {
		return nil, fmt.Errorf("%w: plaintext length %d in %d padded bytes", ErrMalformed, n, len(padded))
	}
	for _, b := range padded[2+n:] {
		if b != 0 {
			return nil, fmt.Errorf("%w: nonzero padding", ErrMalformed)
		}
	}
	return padded[2 : 2+n], nil
}
