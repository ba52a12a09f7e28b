package protocol_test

// The test vectors under testdata/vectors are JSON files that describe
// peerchat's wire formats by example, for implementations that do not share
// our code. This file holds what the generator (vectors_gen_test.go) and the
// conformance test (conformance_test.go) share: the JSON shapes, and the
// simulation of a sync session that turns the two sides' holdings into the
// frames our node sends. docs/protocol.md describes the format.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/reconcile"
	"github.com/peerchat/peerchat/protocol/sketch"
)

// vectorDir is where the vectors live, relative to this package.
const vectorDir = "testdata/vectors"

// hexBytes is a byte string written in JSON as lower-case hex, the form
// every binary field of the vectors takes.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("hex field: %w", err)
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex field %q: %w", s, err)
	}
	*h = d
	return nil
}

// keyFromSeed returns the Ed25519 libp2p key whose 32-byte seed is given,
// as RFC 8032 derives it.
func keyFromSeed(seed []byte) (crypto.PrivKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 seed of %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, fmt.Errorf("ed25519 key from seed: %w", err)
	}
	return k, nil
}

// envelopeFile is envelope.json: envelopes signed with fixed keys, with
// every intermediate value an implementation computes.
type envelopeFile struct {
	Description string           `json:"description"`
	Keys        []keyVector      `json:"keys"`
	Envelopes   []envelopeVector `json:"envelopes"`
	// Invalid are encodings a decoder must refuse, and Validation
	// envelopes that decode but that a receiver must refuse (or accept).
	Invalid    []invalidEnvelope    `json:"invalid"`
	Validation []validationEnvelope `json:"validation"`
}

type keyVector struct {
	Name         string   `json:"name"`
	Seed         hexBytes `json:"ed25519_seed"`
	PublicKey    hexBytes `json:"ed25519_public_key"`
	PeerID       string   `json:"peer_id"`
	PeerIDBytes  hexBytes `json:"peer_id_bytes"`
	ProtobufKey  hexBytes `json:"libp2p_public_key_protobuf"`
	AgentVersion string   `json:"agent_version_example,omitempty"`
}

type envelopeVector struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Kind     string `json:"kind"`
	Room     string `json:"room"`
	Lamport  uint64 `json:"lamport"`
	SentAtMS int64  `json:"sent_at_ms"`
	// Body is the body's bytes as text (they are JSON).
	Body         string   `json:"body"`
	SignedBytes  hexBytes `json:"signed_bytes"`
	SigningInput hexBytes `json:"signing_input"`
	Signature    hexBytes `json:"signature"`
	Encoded      hexBytes `json:"encoded"`
	ID           hexBytes `json:"id"`
	GossipID     hexBytes `json:"gossipsub_message_id"`
	Topic        string   `json:"topic"`
}

type invalidEnvelope struct {
	Name    string   `json:"name"`
	Encoded hexBytes `json:"encoded"`
	// Errors name the sentinel errors the refusal wraps (errorNames).
	Errors []string `json:"errors"`
}

type validationEnvelope struct {
	Name    string   `json:"name"`
	Encoded hexBytes `json:"encoded"`
	Room    string   `json:"receiver_room"`
	NowMS   int64    `json:"receiver_now_ms"`
	Errors  []string `json:"errors"` // empty: accepted
}

// bodiesFile is bodies.json: bodies of each kind and whether a receiver
// accepts them.
type bodiesFile struct {
	Description string       `json:"description"`
	Bodies      []bodyVector `json:"bodies"`
}

type bodyVector struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Body  string `json:"body"`
	Valid bool   `json:"valid"`
}

// framesFile is frames.json: one example of each sync frame, and frames a
// reader must refuse.
type framesFile struct {
	Description string         `json:"description"`
	Frames      []frameVector  `json:"frames"`
	Invalid     []invalidFrame `json:"invalid"`
	// InvalidPayloads are well-framed payloads whose content must be
	// refused.
	InvalidPayloads []invalidPayload `json:"invalid_payloads"`
}

type invalidPayload struct {
	Name    string   `json:"name"`
	Type    int      `json:"type"`
	Payload hexBytes `json:"payload"`
	Errors  []string `json:"errors"`
}

// payloadErrors names the errors the decoder of a frame type refuses
// payload with: DecodeHello, a stateless Reconcile responder holding
// nothing, or the sketch decoder.
func payloadErrors(typ protocol.FrameType, payload []byte) []string {
	var err error
	switch typ {
	case protocol.FrameHello:
		_, err = protocol.DecodeHello(payload)
	case protocol.FrameReconcile:
		if _, err = reconcile.Respond(nil, payload, reconcile.Config{}); err != nil {
			err = fmt.Errorf("%w: %w", protocol.ErrFrame, err)
		}
	case protocol.FrameSketch:
		if _, err = sketch.Decode(payload); err != nil {
			err = fmt.Errorf("%w: %w", protocol.ErrFrame, err)
		}
	case protocol.FrameWant:
		_, err = protocol.DecodeIDs(payload)
	case protocol.FrameWantKeys:
		_, err = protocol.DecodeKeys(payload)
	}
	return describeErrors(err)
}

type frameVector struct {
	Name      string   `json:"name"`
	Protocols []string `json:"protocols"`
	Type      int      `json:"type"`
	Payload   hexBytes `json:"payload"`
	Frame     hexBytes `json:"frame"`
	// What the payload says, for the types that have structure; the
	// conformance test rebuilds the payload from these.
	Hello     *protocol.Hello `json:"hello,omitempty"`
	IDs       []hexBytes      `json:"ids,omitempty"`
	Keys      []string        `json:"keys,omitempty"` // decimal uint64
	Sketch    *sketchVector   `json:"sketch,omitempty"`
	Reconcile *rangesVector   `json:"reconcile,omitempty"`
	Text      string          `json:"text,omitempty"`
}

// sketchVector describes a Sketch frame's message. For a Table, the cells
// are those of a table of Cells cells under Seed holding the keys of IDs.
type sketchVector struct {
	Kind  int        `json:"kind"`
	N     uint64     `json:"n,omitempty"`
	Seed  string     `json:"seed,omitempty"` // decimal uint64
	Cells int        `json:"cells,omitempty"`
	IDs   []hexBytes `json:"ids,omitempty"`
}

// rangesVector describes a Reconcile frame: the first message of an
// initiator holding Items, or, with Responder set, the reply of a
// responder holding Responder to that first message.
type rangesVector struct {
	Items     []itemVector `json:"initiator_items"`
	Responder []itemVector `json:"responder_items,omitempty"`
}

type itemVector struct {
	Lamport uint64   `json:"lamport"`
	ID      hexBytes `json:"id"`
}

type invalidFrame struct {
	Name   string   `json:"name"`
	Frame  hexBytes `json:"frame"`
	Errors []string `json:"errors"`
}

// keysFile is sketch_keys.json: sketch keys, cells and check hashes.
type keysFile struct {
	Description string      `json:"description"`
	Keys        []keyPlace  `json:"keys"`
	Tables      []tableCase `json:"tables"`
}

type keyPlace struct {
	Seed      string   `json:"seed"` // decimal uint64
	ID        hexBytes `json:"id"`
	Key       string   `json:"key"` // decimal uint64
	KeyHex    string   `json:"key_hex"`
	Cells     int      `json:"cells"`
	CellIndex []int    `json:"cell_indexes"`
	CheckHash uint32   `json:"check_hash"`
}

// tableCase is a table of the keys of IDs and its encoding.
type tableCase struct {
	Seed    string     `json:"seed"`
	Cells   int        `json:"cells"`
	IDs     []hexBytes `json:"ids"`
	Encoded hexBytes   `json:"encoded"`
}

// transcriptFile is one whole sync session, transcript_*.json.
type transcriptFile struct {
	Description string          `json:"description"`
	Protocol    string          `json:"protocol"`
	Room        string          `json:"room"`
	SketchSeed  string          `json:"sketch_seed,omitempty"` // decimal uint64
	Initiator   transcriptSide  `json:"initiator"`
	Responder   transcriptSide  `json:"responder"`
	Frames      []transcriptRec `json:"frames"`
	// Gains are the IDs of the messages each side receives, sorted.
	InitiatorGains []hexBytes `json:"initiator_gains"`
	ResponderGains []hexBytes `json:"responder_gains"`
}

type transcriptSide struct {
	Horizon   uint64     `json:"horizon"`
	Envelopes []hexBytes `json:"envelopes"` // messages, in history order
	Receipts  []hexBytes `json:"receipts"`  // stored receipts, in the order they are sent
}

type transcriptRec struct {
	From    string   `json:"from"` // "initiator" or "responder"
	Type    int      `json:"type"`
	Name    string   `json:"name"`
	Payload hexBytes `json:"payload"`
}

func readVectors(name string, v any) error {
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		return fmt.Errorf("read vectors: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parse %s: %w", name, err)
	}
	return nil
}

func writeVectors(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := os.MkdirAll(vectorDir, 0o755); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	return os.WriteFile(filepath.Join(vectorDir, name), append(b, '\n'), 0o644)
}

// frameNames names frame types in transcripts.
var frameNames = map[protocol.FrameType]string{
	protocol.FrameHello: "Hello", protocol.FrameReconcile: "Reconcile", protocol.FrameEnvelope: "Envelope",
	protocol.FrameWant: "Want", protocol.FrameDone: "Done", protocol.FrameError: "Error",
	protocol.FrameSketch: "Sketch", protocol.FrameWantKeys: "WantKeys",
}

// errorNames maps the error names used in vectors to our sentinels.
var errorNames = map[string]error{
	"malformed":          protocol.ErrMalformed,
	"non_minimal_varint": protocol.ErrNonMinimalVarint,
	"too_large":          protocol.ErrTooLarge,
	"version":            protocol.ErrVersion,
	"kind":               protocol.ErrKind,
	"signature":          protocol.ErrSignature,
	"wrong_room":         protocol.ErrWrongRoom,
	"future":             protocol.ErrFutureSentAt,
	"zero_lamport":       protocol.ErrZeroLamport,
	"frame":              protocol.ErrFrame,
}

// describeErrors lists the names of the sentinels err wraps, sorted.
func describeErrors(err error) []string {
	if err == nil {
		return nil
	}
	var names []string
	for name, e := range errorNames {
		if errors.Is(err, e) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func joinNames(names []string) string { return strings.Join(names, ",") }

// cell is one cell of an encoded sketch table.
type cell struct {
	count   int64
	keySum  uint64
	hashSum uint32
}

// parseTable reads a Table message the way docs/protocol.md describes it,
// without package sketch: kind 2, the seed (8 bytes, little-endian), the
// cell count (uvarint), then each cell's zig-zag count, key sum (8 bytes,
// little-endian) and hash sum (4 bytes, little-endian).
func parseTable(b []byte) ([]cell, uint64, error) {
	if len(b) < 9 || b[0] != byte(sketch.KindTable) {
		return nil, 0, fmt.Errorf("not a table")
	}
	seed := binary.LittleEndian.Uint64(b[1:])
	b = b[9:]
	m, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, 0, fmt.Errorf("bad cell count")
	}
	b = b[n:]
	var cells []cell
	for range m {
		c, n := binary.Varint(b)
		if n <= 0 || len(b) < n+12 {
			return nil, 0, fmt.Errorf("bad cell")
		}
		cells = append(cells, cell{c, binary.LittleEndian.Uint64(b[n:]), binary.LittleEndian.Uint32(b[n+8:])})
		b = b[n+12:]
	}
	if len(b) != 0 {
		return nil, 0, fmt.Errorf("%d bytes after the cells", len(b))
	}
	return cells, seed, nil
}
