package sealed

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// KEMKeySize is the size of a member's X25519 KEM public key.
const KEMKeySize = 32

// The HPKE suite of every wrap and join request: DHKEM(X25519) with
// HKDF-SHA256 and ChaCha20-Poly1305 (RFC 9180), from Go's crypto/hpke.
// A wrap of a 32-byte secret is 32 + 32 + 16 = 80 bytes.
var (
	hpkeKEM  = hpke.DHKEM(ecdh.X25519())
	hpkeKDF  = hpke.HKDFSHA256()
	hpkeAEAD = hpke.ChaCha20Poly1305()
)

const (
	infoWrap = "peerchat/v1/epoch"
	infoJoin = "peerchat/v1/join"
)

// NewKEMKey draws a member's per-room X25519 KEM key.
func NewKEMKey() (*ecdh.PrivateKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("draw KEM key: %w", err)
	}
	return k, nil
}

// KID returns the key ID of a KEM public key: SHA-256(pub)[:8].
func KID(kemPub []byte) [KIDSize]byte {
	sum := sha256.Sum256(kemPub)
	var kid [KIDSize]byte
	copy(kid[:], sum[:KIDSize])
	return kid
}

// hpkeSeal seals plaintext to the X25519 public key pub under info.
func hpkeSeal(pub []byte, info, plaintext []byte) ([]byte, error) {
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("KEM public key: %w", err)
	}
	hp, err := hpke.NewDHKEMPublicKey(p)
	if err != nil {
		return nil, fmt.Errorf("KEM public key: %w", err)
	}
	ct, err := hpke.Seal(hp, hpkeKDF, hpkeAEAD, info, plaintext)
	if err != nil {
		return nil, fmt.Errorf("hpke seal: %w", err)
	}
	return ct, nil
}

// hpkeOpen opens a ciphertext of hpkeSeal with priv.
func hpkeOpen(priv *ecdh.PrivateKey, info, ct []byte) ([]byte, error) {
	hp, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("KEM private key: %w", err)
	}
	pt, err := hpke.Open(hp, hpkeKDF, hpkeAEAD, info, ct)
	if err != nil {
		return nil, fmt.Errorf("hpke open: %w", err)
	}
	return pt, nil
}

// wrapInfo is the HPKE info of a wrap of epoch id of room: it binds the
// wrap to its epoch, so a wrap copied into another record does not open.
func wrapInfo(room string, id EpochID) []byte {
	b := appendStr([]byte(infoWrap), room)
	return append(b, id[:]...)
}

// HistorySecret is an earlier epoch's secret handed to a joiner of a room
// that shares its history.
type HistorySecret struct {
	Number uint64
	Secret [SecretSize]byte
}

// wrapPlaintext lays out what a wrap carries:
// secret(32) ‖ uvarint(#history) ‖ { uvarint(number) ‖ secret(32) }*.
func wrapPlaintext(secret [SecretSize]byte, history []HistorySecret) []byte {
	b := append([]byte(nil), secret[:]...)
	b = binary.AppendUvarint(b, uint64(len(history)))
	for _, h := range history {
		b = binary.AppendUvarint(b, h.Number)
		b = append(b, h.Secret[:]...)
	}
	return b
}

func parseWrapPlaintext(pt []byte) ([SecretSize]byte, []HistorySecret, error) {
	var s [SecretSize]byte
	r := reader{buf: pt}
	copy(s[:], r.bytes(SecretSize))
	n := r.count(1 + SecretSize)
	var hist []HistorySecret
	for i := 0; i < n && r.err == nil; i++ {
		var h HistorySecret
		h.Number = r.uvarint()
		copy(h.Secret[:], r.bytes(SecretSize))
		hist = append(hist, h)
	}
	if err := r.done(); err != nil {
		return s, nil, err
	}
	return s, hist, nil
}

// sealWrap wraps secret (and history) to a member's KEM key for epoch id.
func sealWrap(room string, id EpochID, kemPub []byte, secret [SecretSize]byte, history []HistorySecret) (Wrap, error) {
	ct, err := hpkeSeal(kemPub, wrapInfo(room, id), wrapPlaintext(secret, history))
	if err != nil {
		return Wrap{}, err
	}
	return Wrap{KID: KID(kemPub), Ciphertext: ct}, nil
}

// openWrap finds the wrap addressed to one of kems in r and opens it. It
// reports ok false when no wrap is addressed to them.
func openWrap(room string, r *Record, kems []*ecdh.PrivateKey) (secret [SecretSize]byte, history []HistorySecret, ok bool, err error) {
	for _, k := range kems {
		kid := KID(k.PublicKey().Bytes())
		for _, w := range r.Wraps {
			if w.KID != kid {
				continue
			}
			pt, err := hpkeOpen(k, wrapInfo(room, r.ID), w.Ciphertext)
			if err != nil {
				return secret, nil, false, fmt.Errorf("%w: wrap for us does not open: %w", ErrForgedEpoch, err)
			}
			secret, history, err = parseWrapPlaintext(pt)
			if err != nil {
				return secret, nil, false, fmt.Errorf("%w: wrap: %w", ErrForgedEpoch, err)
			}
			return secret, history, true, nil
		}
	}
	return secret, nil, false, nil
}
