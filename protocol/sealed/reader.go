package sealed

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/peerchat/peerchat/protocol/internal/wire"
)

// reader decodes sealed layouts. The first error sticks; every length is
// checked against what remains before anything is sliced, so a hostile
// length costs nothing; and a non-minimal varint is refused, so that every
// layout has one encoding and two implementations agree on validity.
type reader struct {
	buf []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrMalformed, what, r.off)
	}
}

func (r *reader) byte() byte {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// bytes returns the next n bytes as a view, or nil after an error.
func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.fail("truncated")
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n, err := wire.Uvarint(r.buf[r.off:])
	if err != nil {
		if errors.Is(err, wire.ErrNonMinimal) {
			r.err = fmt.Errorf("%w: %w at byte %d", ErrMalformed, err, r.off)
		} else {
			r.fail("bad varint")
		}
		return 0
	}
	r.off += n
	return v
}

// field returns the next uvarint-length-prefixed field, of at most max
// bytes.
func (r *reader) field(max int) []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.fail("field length out of range")
		return nil
	}
	return r.bytes(int(n))
}

// count reads a uvarint count of items each at least minSize bytes long,
// and refuses one that the remaining bytes cannot hold.
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64((len(r.buf)-r.off)/minSize) {
		r.fail("count out of range")
		return 0
	}
	return int(n)
}

// done fails on trailing bytes.
func (r *reader) done() error {
	if r.err == nil && r.off != len(r.buf) {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.buf)-r.off))
	}
	return r.err
}

func appendField(b, f []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}
