// Package protocol defines what peerchat nodes say to each other: the signed
// envelope every durable message travels in, the kinds of envelope, the
// events a node reports to its UIs, and the names of the libp2p protocols and
// topics. It knows nothing of storage or HTTP, so any program can use it to
// read or write peerchat traffic.
package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol/internal/wire"
)

// Version is the envelope format this package writes. Readers reject any
// other version rather than guess at its meaning.
const Version = 1

// MaxEnvelopeBytes bounds an encoded envelope. Anything larger is rejected
// before it is parsed further, so a peer cannot make us hold big buffers.
const MaxEnvelopeBytes = 64 << 10

// MaxClockSkew is how far in the future a send time may be before the
// envelope is treated as forged: clocks of real devices drift, but not by
// more than this.
const MaxClockSkew = 5 * time.Minute

const (
	maxKindLen      = 32
	maxAuthorLen    = 64
	maxSignatureLen = 128
)

// signingDomain is prepended to the bytes an author signs so that a peerchat
// signature can never be replayed as a signature over some other protocol's
// data made with the same key.
const signingDomain = "peerchat-envelope:"

// Kinds of envelope. A kind names how the body is to be read.
const (
	KindMessage = "message"
)

var knownKinds = map[string]bool{KindMessage: true}

// Envelope is one signed, durable unit of room history. Its ID is the
// SHA-256 of the signed bytes, so two nodes holding the same envelope agree
// on its ID without trusting each other.
type Envelope struct {
	Version   uint8
	Kind      string
	Room      string
	Author    peer.ID
	Lamport   uint64
	SentAt    time.Time // millisecond precision on the wire
	Body      []byte
	Signature []byte

	id        ID
	bytes     []byte // the encoded envelope, set by Sign and Decode
	signedLen int    // how many leading bytes the signature covers
	// nonCanonical is the refusal Verify owes a decoded envelope that
	// uses a non-minimal varint (nil when it uses none). DecodeStored
	// reads such an envelope, so that one stored before the rule existed
	// stays readable; Verify, and so Decode, refuses it.
	nonCanonical error
	// verified is set by a successful Verify: the envelope came from a
	// peer and its body is held to the strict reading (checkBody).
	verified bool
}

// ID identifies an envelope: the SHA-256 of its signed bytes.
type ID [32]byte

// String returns the lower-case hex form used in the API and in docs.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// ParseID reads the hex form of an ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("%w: message id must be %d hex characters", ErrMalformed, 2*len(id))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: message id is not hex", ErrMalformed)
	}
	return id, nil
}

// Reasons an envelope is refused. Each is counted separately by the node.
var (
	ErrMalformed    = errors.New("malformed envelope")
	ErrTooLarge     = errors.New("envelope too large")
	ErrVersion      = errors.New("unknown envelope version")
	ErrKind         = errors.New("unknown envelope kind")
	ErrSignature    = errors.New("bad envelope signature")
	ErrWrongRoom    = errors.New("envelope for another room")
	ErrFutureSentAt = errors.New("envelope sent in the future")
	// ErrZeroLamport refuses an envelope whose Lamport clock is 0. A
	// node's clock starts at 1 (it is one more than the largest clock it
	// has seen), and a message at 0 would lie at or below every room's
	// horizon, where sync never looks; refusing it by name lets the node
	// count it instead of dropping it silently.
	ErrZeroLamport = errors.New("envelope with Lamport clock 0")
	// ErrNonCanonical marks what this version of the protocol added to
	// its refusals: a padded varint (ErrNonMinimalVarint too), an author
	// that is not the canonical peer ID of its key, a body that
	// encoding/json would read leniently. Nodes that predate these rules
	// accept and forward such envelopes, so a node answers them with
	// Ignore rather than Reject on gossip, and an honest old forwarder
	// keeps its score.
	ErrNonCanonical = errors.New("non-canonical encoding")
)

// ErrNonMinimalVarint is wrapped by every decoder in protocol/ and its
// subpackages when a varint is written with more bytes than its value
// needs. Each value has exactly one encoding, so an envelope has exactly
// one ID and two implementations agree on what is valid. An envelope
// refused for it is also ErrMalformed, a sync frame ErrFrame.
var ErrNonMinimalVarint = wire.ErrNonMinimal

// ID returns the envelope's ID. It is valid after Sign or Decode.
func (e *Envelope) ID() ID { return e.id }

// Bytes returns the encoded envelope as it travels on the wire and is
// stored. It is valid after Sign or Decode; callers must not modify it.
func (e *Envelope) Bytes() []byte { return e.bytes }

// Sign fills in Version, Author and Signature with key and computes the
// envelope's ID and encoding.
func (e *Envelope) Sign(key crypto.PrivKey) error {
	author, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return fmt.Errorf("derive author from key: %w", err)
	}
	e.Version = Version
	e.Author = author
	signed, err := e.appendSigned(nil)
	if err != nil {
		return err
	}
	sig, err := key.Sign(append([]byte(signingDomain), signed...))
	if err != nil {
		return fmt.Errorf("sign envelope: %w", err)
	}
	e.Signature = sig
	e.id = sha256.Sum256(signed)
	e.signedLen = len(signed)
	e.bytes = binary.AppendUvarint(signed, uint64(len(sig)))
	e.bytes = append(e.bytes, sig...)
	if len(e.bytes) > MaxEnvelopeBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(e.bytes), MaxEnvelopeBytes)
	}
	return nil
}

// appendSigned appends the part of the encoding that the signature covers.
func (e *Envelope) appendSigned(b []byte) ([]byte, error) {
	if len(e.Kind) == 0 || len(e.Kind) > maxKindLen {
		return nil, fmt.Errorf("%w: kind length %d", ErrMalformed, len(e.Kind))
	}
	if err := ValidateRoomName(e.Room); err != nil {
		return nil, err
	}
	b = append(b, e.Version)
	b = appendString(b, e.Kind)
	b = appendString(b, e.Room)
	b = appendString(b, string(e.Author))
	b = binary.AppendUvarint(b, e.Lamport)
	b = binary.AppendVarint(b, e.SentAt.UnixMilli())
	b = appendString(b, string(e.Body))
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decode parses an encoded envelope and checks that it is well formed and
// correctly signed by its author. It does not check the room or the time:
// Validate does, because only the receiver knows which room it expected.
func Decode(data []byte) (*Envelope, error) {
	e, err := DecodeStored(data)
	if err != nil {
		return nil, err
	}
	if err := e.Verify(); err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeStored parses an envelope without checking its signature: for
// envelopes read back from the node's own store, whose signature was
// checked when they were stored (reading history must not cost a
// verification per message), and for a receiver that looks at the author
// before paying for Verify. It accepts non-minimal varints, which Verify
// refuses: history stored before that rule must stay readable, while a
// receiver, which always verifies, still refuses them.
func DecodeStored(data []byte) (*Envelope, error) {
	if len(data) > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	r := reader{buf: data}
	e := &Envelope{}
	e.Version = r.byte()
	if r.err == nil && e.Version != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, e.Version)
	}
	e.Kind = r.string(maxKindLen)
	e.Room = r.string(MaxRoomNameLen)
	e.Author = peer.ID(r.string(maxAuthorLen))
	e.Lamport = r.uvarint()
	ms := r.varint()
	e.SentAt = time.UnixMilli(ms).UTC()
	e.Body = []byte(r.string(MaxEnvelopeBytes))
	signedLen := r.off
	e.Signature = []byte(r.string(maxSignatureLen))
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(data) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(data)-r.off)
	}
	if !knownKinds[e.Kind] {
		return nil, fmt.Errorf("%w: %q", ErrKind, e.Kind)
	}
	if err := ValidateRoomName(e.Room); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	e.id = sha256.Sum256(data[:signedLen])
	e.bytes = data
	e.signedLen = signedLen
	e.nonCanonical = r.nonMinimal
	return e, nil
}

// AuthorOf reads only the author field of an encoded envelope, as a view
// into data: for scans of stored envelopes that only ask who wrote each,
// and for dropping an over-limit author's envelopes before anything else
// is paid for. It checks nothing else; ok is false when the bytes do not
// reach the author field.
func AuthorOf(data []byte) (author []byte, ok bool) {
	r := reader{buf: data}
	if r.byte() != Version {
		return nil, false
	}
	r.field(maxKindLen)
	r.field(MaxRoomNameLen)
	author = r.field(maxAuthorLen)
	return author, r.err == nil
}

// Verify checks that the envelope is canonical (minimal varints, the
// author's canonical peer ID) and its signature against its author's key.
// After it succeeds, the body decoders read the body strictly (see
// checkBody).
func (e *Envelope) Verify() error {
	if e.nonCanonical != nil {
		return e.nonCanonical
	}
	pub, err := e.Author.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("%w: author carries no public key: %w", ErrSignature, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return fmt.Errorf("%w: author key is not Ed25519", ErrSignature)
	}
	// One key has one peer ID. Another encoding of the same key (the
	// protobuf read leniently) would make one author look like several,
	// each with its own rate limit and receipts.
	if canonical, err := peer.IDFromPublicKey(pub); err != nil || canonical != e.Author {
		return fmt.Errorf("%w: %w: author is not the canonical peer ID of its key", ErrSignature, ErrNonCanonical)
	}
	ok, err := pub.Verify(append([]byte(signingDomain), e.bytes[:e.signedLen]...), e.Signature)
	if err != nil || !ok {
		return ErrSignature
	}
	e.verified = true
	return nil
}

// Validate checks what only a receiver can: that the envelope belongs to
// room and was not sent absurdly far in the future by the receiver's clock.
// It also refuses a Lamport clock of 0 (ErrZeroLamport), which no honest
// node signs; Decode accepts one so that the refusal has its own reason.
func (e *Envelope) Validate(room string, now time.Time) error {
	if e.Room != room {
		return fmt.Errorf("%w: %q, expected %q", ErrWrongRoom, e.Room, room)
	}
	if e.Lamport == 0 {
		return ErrZeroLamport
	}
	if e.SentAt.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: %s", ErrFutureSentAt, e.SentAt.Format(time.RFC3339))
	}
	return nil
}

// reader decodes the envelope's fields. The first error sticks, and every
// length is checked against the bytes that remain before anything is
// allocated, so hostile lengths cost nothing.
type reader struct {
	buf []byte
	off int
	err error
	// nonMinimal records the first non-minimal varint: it does not stop
	// the reading (see DecodeStored).
	nonMinimal error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrMalformed, what, r.off)
	}
}

// note records a non-minimal varint at the current offset.
func (r *reader) note(err error) {
	if errors.Is(err, ErrNonMinimalVarint) && r.nonMinimal == nil {
		r.nonMinimal = fmt.Errorf("%w: %w: %w at byte %d", ErrMalformed, ErrNonCanonical, err, r.off)
	}
}

func (r *reader) byte() uint8 {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.buf) {
		r.fail("truncated")
		return 0
	}
	b := r.buf[r.off]
	r.off++
	return b
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	_, _, err := wire.Uvarint(r.buf[r.off:])
	r.note(err)
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	_, _, err := wire.Varint(r.buf[r.off:])
	r.note(err)
	r.off += n
	return v
}

func (r *reader) string(max int) string {
	return string(r.field(max))
}

// field returns the next length-prefixed field as a view into the buffer.
func (r *reader) field(max int) []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(r.buf)-r.off) {
		r.fail("field length out of range")
		return nil
	}
	f := r.buf[r.off : r.off+int(n)]
	r.off += int(n)
	return f
}
