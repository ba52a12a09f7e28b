package sketch

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/peerchat/peerchat/protocol/internal/wire"
)

// Kind tags a sketch message: the first byte of a Sketch frame's payload.
type Kind byte

const (
	// KindSize (responder → initiator, right after its Hello) carries the
	// number of items the responder holds above the shared horizon, so
	// that the initiator can size its first table.
	KindSize Kind = 1
	// KindTable (initiator → responder) carries a table of the
	// initiator's keys.
	KindTable Kind = 2
	// KindRetry (responder → initiator) says the table did not peel, with
	// the responder's estimate of the difference.
	KindRetry Kind = 3
	// KindDecoded (responder → initiator) ends the responder's answer to
	// a table that peeled: the envelopes the initiator lacks and the keys
	// the responder wants have all been sent.
	KindDecoded Kind = 4
)

// ErrMessage is returned for a sketch message that breaks the format.
var ErrMessage = errors.New("bad sketch message")

// Message is a decoded sketch message.
type Message struct {
	Kind Kind
	// N is the item count of a Size message and the estimate of a Retry.
	N uint64
	// Table is the table of a Table message.
	Table *Table
}

// cellBytes bounds one encoded cell from below (a one-byte count) and from
// above (the largest count a decoder accepts).
const (
	minCellBytes = 1 + 8 + 4
	maxCellBytes = 5 + 8 + 4
)

// EncodeSize builds a Size message.
func EncodeSize(count uint64) []byte {
	return binary.AppendUvarint([]byte{byte(KindSize)}, count)
}

// EncodeRetry builds a Retry message.
func EncodeRetry(estimate uint64) []byte {
	return binary.AppendUvarint([]byte{byte(KindRetry)}, estimate)
}

// EncodeDecoded builds a Decoded message.
func EncodeDecoded() []byte { return []byte{byte(KindDecoded)} }

// EncodeTable builds a Table message: the kind, the seed (8 bytes,
// little-endian), the number of cells as a uvarint, then each cell as its
// count (zigzag varint), key sum (8 bytes, little-endian) and hash sum (4
// bytes, little-endian).
func EncodeTable(t *Table) []byte {
	b := make([]byte, 0, 1+8+binary.MaxVarintLen64+len(t.cells)*minCellBytes)
	b = append(b, byte(KindTable))
	b = binary.LittleEndian.AppendUint64(b, t.seed)
	b = binary.AppendUvarint(b, uint64(len(t.cells)))
	for _, c := range t.cells {
		b = binary.AppendVarint(b, c.Count)
		b = binary.LittleEndian.AppendUint64(b, c.KeySum)
		b = binary.LittleEndian.AppendUint32(b, c.HashSum)
	}
	return b
}

// Decode reads one sketch message. Every length is checked against the
// bytes present before anything is allocated, and every varint must be
// minimal, so that a message has exactly one encoding.
func Decode(b []byte) (Message, error) {
	if len(b) == 0 {
		return Message{}, fmt.Errorf("%w: empty", ErrMessage)
	}
	m := Message{Kind: Kind(b[0])}
	rest := b[1:]
	switch m.Kind {
	case KindSize, KindRetry:
		v, n, err := wire.Uvarint(rest)
		if err != nil {
			return Message{}, fmt.Errorf("%w: kind %d: number: %w", ErrMessage, m.Kind, err)
		}
		if n != len(rest) {
			return Message{}, fmt.Errorf("%w: kind %d: %d bytes after the number", ErrMessage, m.Kind, len(rest)-n)
		}
		m.N = v
	case KindDecoded:
		if len(rest) != 0 {
			return Message{}, fmt.Errorf("%w: decoded with %d trailing bytes", ErrMessage, len(rest))
		}
	case KindTable:
		t, err := decodeTable(rest)
		if err != nil {
			return Message{}, err
		}
		m.Table = t
	default:
		return Message{}, fmt.Errorf("%w: unknown kind %d", ErrMessage, m.Kind)
	}
	return m, nil
}

func decodeTable(b []byte) (*Table, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: table without seed", ErrMessage)
	}
	seed := binary.LittleEndian.Uint64(b)
	b = b[8:]
	cells, n, err := wire.Uvarint(b)
	if err != nil {
		return nil, fmt.Errorf("%w: table size: %w", ErrMessage, err)
	}
	b = b[n:]
	if cells == 0 || cells > MaxCells || cells%K != 0 {
		return nil, fmt.Errorf("%w: table of %d cells", ErrMessage, cells)
	}
	if uint64(len(b)) < cells*minCellBytes || uint64(len(b)) > cells*maxCellBytes {
		return nil, fmt.Errorf("%w: %d bytes for %d cells", ErrMessage, len(b), cells)
	}
	t := &Table{seed: seed, cells: make([]Cell, cells)}
	for i := range t.cells {
		c, n, err := wire.Varint(b)
		if err != nil {
			return nil, fmt.Errorf("%w: cell %d count: %w", ErrMessage, i, err)
		}
		if c > maxCount || c < -maxCount {
			return nil, fmt.Errorf("%w: cell %d count %d", ErrMessage, i, c)
		}
		b = b[n:]
		if len(b) < 12 {
			return nil, fmt.Errorf("%w: cell %d truncated", ErrMessage, i)
		}
		t.cells[i] = Cell{Count: c, KeySum: binary.LittleEndian.Uint64(b), HashSum: binary.LittleEndian.Uint32(b[8:])}
		b = b[12:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the cells", ErrMessage, len(b))
	}
	return t, nil
}
