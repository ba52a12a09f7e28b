package reconcile

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/peerchat/peerchat/protocol/internal/wire"
)

// Version is the protocol version byte that starts every message. It
// changes whenever the encoding changes incompatibly, so that a peer can
// reject what it cannot parse instead of misreading it.
const Version byte = 1

// mode says what a range carries. It occupies the top two bits of a range
// header, so there is no room for more than four modes.
type mode uint8

const (
	modeSkip        mode = 0
	modeFingerprint mode = 1
	modeIDList      mode = 2
	modeIDListReply mode = 3
)

// infPrefixLen marks the infinite bound in the low six bits of a range
// header, where finite bounds store their ID prefix length (0 to 32).
const infPrefixLen = 63

// wireRange is one decoded or to-be-encoded range. Its lower bound is the
// upper bound of the range before it, so it is not stored.
type wireRange struct {
	upper bound
	mode  mode
	// fp is set for modeFingerprint.
	fp fingerprint
	// items is set for modeIDList and modeIDListReply.
	items []Item
	// bits is set for modeIDListReply: bit i is set when the sender lacks
	// the i-th item of the list it is answering.
	bits []byte
}

// appendRange encodes r, whose range starts at lower, and appends it to
// dst. lower must be finite because nothing may follow the infinite bound.
func appendRange(dst []byte, lower bound, r *wireRange) []byte {
	plen := infPrefixLen
	if !r.upper.inf {
		plen = r.upper.prefixLen()
	}
	dst = append(dst, byte(r.mode)<<6|byte(plen))
	if !r.upper.inf {
		dst = binary.AppendUvarint(dst, r.upper.item.Lamport-lower.item.Lamport)
		dst = append(dst, r.upper.item.ID[:plen]...)
	}
	switch r.mode {
	case modeFingerprint:
		dst = append(dst, r.fp[:]...)
	case modeIDList:
		dst = appendItems(dst, lower, r.items)
	case modeIDListReply:
		dst = appendItems(dst, lower, r.items)
		dst = binary.AppendUvarint(dst, uint64(len(r.bits)))
		dst = append(dst, r.bits...)
	}
	return dst
}

// appendItems encodes a sorted item list with delta-encoded Lamports; the
// first delta counts from the range's lower bound, which both sides know.
func appendItems(dst []byte, lower bound, items []Item) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(items)))
	prev := lower.item.Lamport
	for _, it := range items {
		dst = binary.AppendUvarint(dst, it.Lamport-prev)
		dst = append(dst, it.ID[:]...)
		prev = it.Lamport
	}
	return dst
}

// decodeMessage parses and validates a whole message before anything acts
// on it, so that a malformed message never leaves partial effects. It
// never allocates more than a small multiple of len(msg): every count is
// checked against the bytes that remain before memory is reserved for it.
func decodeMessage(msg []byte, limit int) ([]wireRange, error) {
	if len(msg) > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit is %d", ErrTooLarge, len(msg), limit)
	}
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	if msg[0] != Version {
		return nil, fmt.Errorf("%w: got %d, want %d", ErrVersion, msg[0], Version)
	}
	rd := reader{buf: msg[1:]}
	var ranges []wireRange
	lower := minBound
	for len(rd.buf) > 0 {
		if lower.inf {
			return nil, fmt.Errorf("%w: range after the infinite bound", ErrMalformed)
		}
		r, err := rd.rangeAfter(lower)
		if err != nil {
			return nil, fmt.Errorf("range %d: %w", len(ranges), err)
		}
		ranges = append(ranges, r)
		lower = r.upper
	}
	return ranges, nil
}

// reader consumes a message from the front and reports truncation as
// ErrMalformed instead of panicking.
type reader struct {
	buf []byte
}

func (rd *reader) byte() (byte, error) {
	if len(rd.buf) == 0 {
		return 0, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	b := rd.buf[0]
	rd.buf = rd.buf[1:]
	return b, nil
}

// uvarint reads a varint, which must be minimal (see package wire): a
// message has exactly one encoding, so two implementations agree on it.
func (rd *reader) uvarint() (uint64, error) {
	v, n, err := wire.Uvarint(rd.buf)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	rd.buf = rd.buf[n:]
	return v, nil
}

func (rd *reader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(rd.buf)) {
		return nil, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	b := rd.buf[:n]
	rd.buf = rd.buf[n:]
	return b, nil
}

// lamportAfter reads a Lamport delta and adds it to base, rejecting sums
// that would wrap around.
func (rd *reader) lamportAfter(base uint64) (uint64, error) {
	d, err := rd.uvarint()
	if err != nil {
		return 0, err
	}
	if d > math.MaxUint64-base {
		return 0, fmt.Errorf("%w: Lamport overflows", ErrMalformed)
	}
	return base + d, nil
}

// rangeAfter decodes one range that starts at lower.
func (rd *reader) rangeAfter(lower bound) (wireRange, error) {
	h, err := rd.byte()
	if err != nil {
		return wireRange{}, err
	}
	r := wireRange{mode: mode(h >> 6)}
	switch plen := h & 63; {
	case plen == infPrefixLen:
		r.upper = infBound
	case plen > 32:
		return wireRange{}, fmt.Errorf("%w: ID prefix of %d bytes", ErrMalformed, plen)
	default:
		if r.upper.item.Lamport, err = rd.lamportAfter(lower.item.Lamport); err != nil {
			return wireRange{}, err
		}
		prefix, err := rd.bytes(uint64(plen))
		if err != nil {
			return wireRange{}, err
		}
		// The rest of the ID is zero, so a prefix ending in a zero byte
		// says the same as a shorter one; only the shortest is canonical.
		if plen > 0 && prefix[plen-1] == 0 {
			return wireRange{}, fmt.Errorf("%w: ID prefix ends in a zero byte", ErrMalformed)
		}
		copy(r.upper.item.ID[:], prefix)
	}
	if r.upper.compare(lower) <= 0 {
		return wireRange{}, fmt.Errorf("%w: bounds not ascending", ErrMalformed)
	}
	switch r.mode {
	case modeFingerprint:
		fp, err := rd.bytes(fingerprintSize)
		if err != nil {
			return wireRange{}, err
		}
		copy(r.fp[:], fp)
	case modeIDList, modeIDListReply:
		if r.items, err = rd.items(lower, r.upper); err != nil {
			return wireRange{}, err
		}
		if r.mode == modeIDListReply {
			n, err := rd.uvarint()
			if err != nil {
				return wireRange{}, err
			}
			if r.bits, err = rd.bytes(n); err != nil {
				return wireRange{}, err
			}
		}
	}
	return r, nil
}

// items decodes an item list and checks that it is strictly ascending and
// inside [lower, upper), so that callers can rely on both.
func (rd *reader) items(lower, upper bound) ([]Item, error) {
	n, err := rd.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(rd.buf)/minItemBytes) {
		return nil, fmt.Errorf("%w: %d items do not fit in %d bytes", ErrMalformed, n, len(rd.buf))
	}
	items := make([]Item, 0, n)
	prev := lower.item.Lamport
	for i := range n {
		var it Item
		if it.Lamport, err = rd.lamportAfter(prev); err != nil {
			return nil, err
		}
		id, err := rd.bytes(32)
		if err != nil {
			return nil, err
		}
		copy(it.ID[:], id)
		switch {
		case it.Compare(lower.item) < 0:
			return nil, fmt.Errorf("%w: item below its range", ErrMalformed)
		case !upper.inf && it.Compare(upper.item) >= 0:
			return nil, fmt.Errorf("%w: item above its range", ErrMalformed)
		case i > 0 && it.Compare(items[i-1]) <= 0:
			return nil, fmt.Errorf("%w: items not strictly ascending", ErrMalformed)
		}
		items = append(items, it)
		prev = it.Lamport
	}
	return items, nil
}
