package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/peerchat/peerchat/protocol/internal/wire"
)

// FrameType tags one frame of the sync protocol. See docs/protocol.md.
type FrameType byte

const (
	FrameHello     FrameType = 1 // both ways first: room and horizon (Hello)
	FrameReconcile FrameType = 2 // a set-reconciliation message, either way
	FrameEnvelope  FrameType = 3 // one encoded envelope
	FrameWant      FrameType = 4 // initiator → responder: IDs it lacks
	FrameDone      FrameType = 5 // the sender has nothing more to send
	FrameError     FrameType = 6 // the sender refuses; payload is a reason
	FrameSketch    FrameType = 7 // 1.1.0: a sketch message (package sketch), either way
	FrameWantKeys  FrameType = 8 // 1.1.0, responder → initiator: keys it lacks
)

// MaxFrameBytes bounds a sync frame's payload.
const MaxFrameBytes = 1 << 20

// MaxWantIDs bounds the IDs in one Want frame.
const MaxWantIDs = 1024

// MaxWantKeys bounds the keys in one WantKeys frame.
const MaxWantKeys = 4096

// ErrFrame is returned for a frame that breaks the sync protocol's rules.
var ErrFrame = errors.New("bad sync frame")

// WriteFrame writes one frame: its type, the payload length as a uvarint,
// and the payload.
func WriteFrame(w io.Writer, t FrameType, payload []byte) error {
	if len(payload) > MaxFrameBytes {
		return fmt.Errorf("%w: payload of %d bytes", ErrFrame, len(payload))
	}
	hdr := binary.AppendUvarint([]byte{byte(t)}, uint64(len(payload)))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// ReadFrame reads one frame. The length is checked against MaxFrameBytes
// before anything is allocated, and must be a minimal varint. A Done frame
// must be empty: it has nothing to carry, and a payload there means the
// peer speaks some other protocol.
func ReadFrame(r *bufio.Reader) (FrameType, []byte, error) {
	t, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	if t < byte(FrameHello) || t > byte(FrameWantKeys) {
		return 0, nil, fmt.Errorf("%w: unknown type %d", ErrFrame, t)
	}
	n, err := wire.ReadUvarint(r)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: length: %w", ErrFrame, err)
	}
	if n > MaxFrameBytes {
		return 0, nil, fmt.Errorf("%w: payload of %d bytes", ErrFrame, n)
	}
	if FrameType(t) == FrameDone && n != 0 {
		return 0, nil, fmt.Errorf("%w: done frame with a payload of %d bytes", ErrFrame, n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("%w: payload: %w", ErrFrame, err)
	}
	return FrameType(t), payload, nil
}

// EncodeIDs packs IDs for a Want frame: 32 bytes each, back to back.
func EncodeIDs(ids []ID) []byte {
	out := make([]byte, 0, len(ids)*len(ID{}))
	for _, id := range ids {
		out = append(out, id[:]...)
	}
	return out
}

// DecodeIDs unpacks a Want frame.
func DecodeIDs(b []byte) ([]ID, error) {
	size := len(ID{})
	if len(b)%size != 0 || len(b)/size > MaxWantIDs {
		return nil, fmt.Errorf("%w: want frame of %d bytes", ErrFrame, len(b))
	}
	ids := make([]ID, len(b)/size)
	for i := range ids {
		copy(ids[i][:], b[i*size:])
	}
	return ids, nil
}

// EncodeKeys packs sketch keys for a WantKeys frame: 8 bytes each,
// little-endian, back to back.
func EncodeKeys(keys []uint64) []byte {
	out := make([]byte, 0, len(keys)*8)
	for _, k := range keys {
		out = binary.LittleEndian.AppendUint64(out, k)
	}
	return out
}

// DecodeKeys unpacks a WantKeys frame.
func DecodeKeys(b []byte) ([]uint64, error) {
	if len(b)%8 != 0 || len(b)/8 > MaxWantKeys {
		return nil, fmt.Errorf("%w: want-keys frame of %d bytes", ErrFrame, len(b))
	}
	keys := make([]uint64, len(b)/8)
	for i := range keys {
		keys[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return keys, nil
}

// Hello opens a sync: the room, and the sender's horizon, the Lamport clock
// up to which it has dropped history by its retention rule (0 for a node
// that keeps everything). Both sides reconcile only what lies above the
// larger horizon, so a pruned store is never sent old history again.
type Hello struct {
	Room    string
	Horizon uint64
}

// EncodeHello builds a Hello frame's payload: the room name, a zero byte,
// then the horizon as a uvarint.
func EncodeHello(h Hello) []byte {
	b := append([]byte(h.Room), 0)
	return binary.AppendUvarint(b, h.Horizon)
}

// DecodeHello reads a Hello frame's payload.
func DecodeHello(b []byte) (Hello, error) {
	room, rest, ok := bytes.Cut(b, []byte{0})
	if !ok {
		return Hello{}, fmt.Errorf("%w: hello without horizon", ErrFrame)
	}
	if err := ValidateRoomName(string(room)); err != nil {
		return Hello{}, fmt.Errorf("%w: hello: %w", ErrFrame, err)
	}
	h, n, err := wire.Uvarint(rest)
	if err != nil {
		return Hello{}, fmt.Errorf("%w: hello horizon: %w", ErrFrame, err)
	}
	if n != len(rest) {
		return Hello{}, fmt.Errorf("%w: %d bytes after the hello horizon", ErrFrame, len(rest)-n)
	}
	return Hello{Room: string(room), Horizon: h}, nil
}

// Reasons carried by Error frames. The text is for logs and people: a
// receiver must not act on it beyond ending the session, so that new
// reasons can be added without a new protocol version.
const (
	// ReasonRoomNotJoined: the responder is not in the Hello's room.
	ReasonRoomNotJoined = "room not joined"
	// ReasonStoreUnavailable: the responder cannot read its history.
	ReasonStoreUnavailable = "store unavailable"
	// ReasonMalformed: a frame or its payload does not decode.
	ReasonMalformed = "malformed frame"
	// ReasonUnexpected: a frame of a type the exchange does not allow at
	// this point.
	ReasonUnexpected = "unexpected frame"
	// ReasonInvalidEnvelope: an Envelope frame failed validation.
	ReasonInvalidEnvelope = "invalid envelope"
	// ReasonLimit: a bound of the protocol was exceeded (tables, rounds,
	// wanted IDs or keys).
	ReasonLimit = "limit exceeded"
)
