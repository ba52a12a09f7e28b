package push

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/peerchat/peerchat/protocol"
)

// Protocol is the push protocol's ID (docs/protocol.md, "Push").
const Protocol = "/peerchat/push/1.0.0"

// Frame types of the push protocol. Each frame is its type (one byte),
// the payload's length (a uvarint) and the payload.
const (
	// frameRooms lists the sender's joined rooms: each name as a uvarint
	// length and its bytes. It is the first frame of every stream and is
	// sent again when the rooms change.
	frameRooms byte = 1
	// frameEnvelope carries one envelope: the room (uvarint length and
	// bytes), then the encoded envelope up to the frame's end.
	frameEnvelope byte = 2
)

const (
	// maxFrame bounds a frame's payload: an envelope and its room name.
	maxFrame = protocol.MaxEnvelopeBytes + 256
	// maxRooms bounds the rooms one Rooms frame may name.
	maxRooms = 1024
)

// errFrame marks a frame that breaks the protocol's rules; the stream is
// then reset.
var errFrame = errors.New("bad push frame")

// appendFrame appends one frame to b.
func appendFrame(b []byte, t byte, payload []byte) []byte {
	b = append(b, t)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// encodeRooms is the payload of a Rooms frame.
func encodeRooms(rooms []string) []byte {
	var b []byte
	for _, r := range rooms {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	return b
}

func decodeRooms(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		name, rest, err := cut(b)
		if err != nil {
			return nil, err
		}
		if len(out) == maxRooms {
			return nil, fmt.Errorf("%w: more than %d rooms", errFrame, maxRooms)
		}
		out = append(out, string(name))
		b = rest
	}
	return out, nil
}

// encodeEnvelope is the payload of an Envelope frame.
func encodeEnvelope(room string, env []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(room)))
	b = append(b, room...)
	return append(b, env...)
}

func decodeEnvelope(b []byte) (room string, env []byte, err error) {
	name, rest, err := cut(b)
	if err != nil {
		return "", nil, err
	}
	if len(rest) == 0 {
		return "", nil, fmt.Errorf("%w: empty envelope", errFrame)
	}
	return string(name), rest, nil
}

// cut splits a uvarint-prefixed string off b.
func cut(b []byte) (s, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) || n > protocol.MaxEnvelopeBytes {
		return nil, nil, fmt.Errorf("%w: bad length", errFrame)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// readFrame reads one frame, checking its length before allocating.
func readFrame(r *bufio.Reader) (byte, []byte, error) {
	t, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	if t != frameRooms && t != frameEnvelope {
		return 0, nil, fmt.Errorf("%w: unknown type %d", errFrame, t)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: length: %w", errFrame, err)
	}
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: payload of %d bytes", errFrame, n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("%w: payload: %w", errFrame, err)
	}
	return t, payload, nil
}
