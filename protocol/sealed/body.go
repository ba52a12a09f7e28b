package sealed

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/peerchat/peerchat/protocol"
)

// NonceSize is XChaCha20-Poly1305's nonce: 24 random bytes, safe to draw
// at random for every message even though many authors share one key per
// epoch and nobody coordinates counters.
const NonceSize = chacha20poly1305.NonceSizeX

const (
	tagSize        = chacha20poly1305.Overhead
	writeSigSize   = ed25519.SignatureSize
	bodyHeaderSize = 1 + EpochIDSize + NonceSize
	// BodyOverhead is what sealing adds to a padded plaintext.
	BodyOverhead = bodyHeaderSize + tagSize + writeSigSize
)

// Domain separators of the associated data and the write signature.
const (
	aadDomain   = "peerchat/v1/sealed"
	writeDomain = "peerchat/v1/write"
)

// Header is the part of the outer envelope a sealed body is bound to: a
// body moved to another kind, room, author, clock or send time no longer
// opens, and its write signature no longer verifies.
type Header struct {
	Kind    string
	Room    string
	Author  peer.ID
	Lamport uint64
	SentAt  time.Time
}

// HeaderOf returns the header of e.
func HeaderOf(e *protocol.Envelope) Header {
	return Header{Kind: e.Kind, Room: e.Room, Author: e.Author, Lamport: e.Lamport, SentAt: e.SentAt}
}

// aad returns the associated data of a body of epoch id under header h:
//
//	"peerchat/v1/sealed" ‖ version ‖ str(kind) ‖ str(room) ‖ str(author)
//	‖ uvarint(lamport) ‖ varint(sent_at ms) ‖ epochID
//
// where str is a uvarint length and the bytes, as in the envelope.
func (h Header) aad(id EpochID) []byte {
	b := make([]byte, 0, 128)
	b = append(b, aadDomain...)
	b = append(b, Version)
	b = appendStr(b, h.Kind)
	b = appendStr(b, h.Room)
	b = appendStr(b, string(h.Author))
	b = binary.AppendUvarint(b, h.Lamport)
	b = binary.AppendVarint(b, h.SentAt.UnixMilli())
	return append(b, id[:]...)
}

// Body is a parsed sealed body:
//
//	version(1) ‖ epochID(16) ‖ nonce(24) ‖ ciphertext(padded + 16) ‖ writeSig(64)
type Body struct {
	Epoch      EpochID
	Nonce      [NonceSize]byte
	Ciphertext []byte
	WriteSig   []byte
}

// ParseBody reads the layout of a sealed body without any key. A relay
// calls it to learn the epoch, then VerifyWrite with that epoch's write
// key.
func ParseBody(body []byte) (Body, error) {
	var b Body
	if len(body) < BodyOverhead+paddedLen(2) {
		return b, fmt.Errorf("%w: %d bytes, at least %d", ErrMalformed, len(body), BodyOverhead+paddedLen(2))
	}
	if body[0] != Version {
		return b, fmt.Errorf("%w: %d", ErrVersion, body[0])
	}
	copy(b.Epoch[:], body[1:])
	copy(b.Nonce[:], body[1+EpochIDSize:])
	b.Ciphertext = body[bodyHeaderSize : len(body)-writeSigSize]
	b.WriteSig = body[len(body)-writeSigSize:]
	return b, nil
}

// writeMessage is what the write signature covers:
// "peerchat/v1/write" ‖ aad ‖ nonce ‖ ciphertext.
func (b Body) writeMessage(h Header) []byte {
	aad := h.aad(b.Epoch)
	m := make([]byte, 0, len(writeDomain)+len(aad)+NonceSize+len(b.Ciphertext))
	m = append(m, writeDomain...)
	m = append(m, aad...)
	m = append(m, b.Nonce[:]...)
	return append(m, b.Ciphertext...)
}

// VerifyWrite checks the body's write signature under its epoch's public
// write key. It needs no secret, so relays call it to refuse ciphertext
// from anyone who does not hold the epoch, and a member's ciphertext
// re-posted under another author.
func (b Body) VerifyWrite(h Header, writePub ed25519.PublicKey) error {
	if len(writePub) != ed25519.PublicKeySize || !ed25519.Verify(writePub, b.writeMessage(h), b.WriteSig) {
		return fmt.Errorf("%w: epoch %s", ErrWriteSignature, b.Epoch)
	}
	return nil
}

// Seal pads and encrypts plaintext under k's message key, bound to h, with
// a fresh random nonce, and signs the result with k's write key.
func Seal(k *EpochKeys, h Header, plaintext []byte) ([]byte, error) {
	var nonce [NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("draw nonce: %w", err)
	}
	return sealWithNonce(k, h, plaintext, nonce)
}

// sealWithNonce is Seal with a given nonce: for known-answer vectors only.
func sealWithNonce(k *EpochKeys, h Header, plaintext []byte, nonce [NonceSize]byte) ([]byte, error) {
	if h.Room != k.Room {
		return nil, fmt.Errorf("%w: sealing for room %q with keys of %q", protocol.ErrWrongRoom, h.Room, k.Room)
	}
	padded, err := pad(plaintext)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(k.Message[:])
	if err != nil {
		return nil, fmt.Errorf("message cipher: %w", err)
	}
	out := make([]byte, 0, BodyOverhead+len(padded))
	out = append(out, Version)
	out = append(out, k.ID[:]...)
	out = append(out, nonce[:]...)
	out = aead.Seal(out, nonce[:], padded, h.aad(k.ID))
	b := Body{Epoch: k.ID, Nonce: nonce, Ciphertext: out[bodyHeaderSize:]}
	return append(out, ed25519.Sign(k.write, b.writeMessage(h))...), nil
}

// Open checks the write signature of body under k and decrypts it. A
// member checks the write signature too, though the AEAD alone proves the
// writer held the key, so that members and relays agree on which
// envelopes are valid.
func Open(k *EpochKeys, h Header, body []byte) ([]byte, error) {
	b, err := ParseBody(body)
	if err != nil {
		return nil, err
	}
	if b.Epoch != k.ID {
		return nil, fmt.Errorf("%w: body of epoch %s opened with keys of %s", ErrNoKey, b.Epoch, k.ID)
	}
	if err := b.VerifyWrite(h, k.WritePub); err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(k.Message[:])
	if err != nil {
		return nil, fmt.Errorf("message cipher: %w", err)
	}
	padded, err := aead.Open(nil, b.Nonce[:], b.Ciphertext, h.aad(b.Epoch))
	if err != nil {
		return nil, fmt.Errorf("%w: epoch %s: %w", ErrOpen, b.Epoch, err)
	}
	return unpad(padded)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
