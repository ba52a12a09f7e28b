package sealed

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Labels of the direct-room derivations.
const (
	infoDMSalt   = "peerchat/v1/dm-salt"
	infoDMEpoch0 = "peerchat/v1/dm-epoch0"
)

// X25519FromEd25519Private converts an Ed25519 private key to the X25519
// key of the same secret, as libsodium's crypto_sign_ed25519_sk_to_
// curve25519 and age's ssh-ed25519 recipients do: SHA-512 of the seed, its
// first half as the scalar (X25519 clamps it).
func X25519FromEd25519Private(priv ed25519.PrivateKey) (*ecdh.PrivateKey, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("ed25519 private key of %d bytes", len(priv))
	}
	h := sha512.Sum512(priv.Seed())
	k, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil {
		return nil, fmt.Errorf("x25519 from ed25519: %w", err)
	}
	return k, nil
}

// X25519FromEd25519Public converts an Ed25519 public key to the X25519
// public key of the same secret: the Montgomery u-coordinate of the
// Edwards point, with filippo.io/edwards25519. A key that is not a valid
// point, or that maps to a low-order point, is refused.
func X25519FromEd25519Public(pub ed25519.PublicKey) (*ecdh.PublicKey, error) {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, fmt.Errorf("ed25519 public key: %w", err)
	}
	// A point of small order would give an all-zero shared secret.
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, fmt.Errorf("ed25519 public key of small order")
	}
	k, err := ecdh.X25519().NewPublicKey(p.BytesMontgomery())
	if err != nil {
		return nil, fmt.Errorf("x25519 from ed25519: %w", err)
	}
	return k, nil
}

// DM is what both parties of a direct room derive alone, each from its own
// identity key and the other's peer ID: the room's name, its genesis
// secret and the salt its genesis publishes.
type DM struct {
	Room    string
	Parties [2]peer.ID // sorted
	Salt    []byte
	Secret  [SecretSize]byte
}

// DeriveDM derives the direct room of self (whose identity key is key)
// and other. With dh = X25519 of the converted identity keys and
// parties = the two peer IDs in byte order:
//
//	salt = HKDF-SHA256(dh, salt = str(A) ‖ str(B), "peerchat/v1/dm-salt")
//	room = "pv1-" ‖ base32(SHA-256("peerchat/v1/dm" ‖ len‖A ‖ len‖B ‖ salt)[:20])
//	S_0  = HKDF-SHA256(dh, str(A) ‖ str(B), "peerchat/v1/dm-epoch0")
//
// Both sides reach the same room with nothing exchanged, and since the
// genesis publishes salt (independent of S_0), relays check that its
// author is one of the two parties, as they check an owner's genesis.
func DeriveDM(key crypto.PrivKey, other peer.ID) (*DM, error) {
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("peer ID of key: %w", err)
	}
	if self == other {
		return nil, fmt.Errorf("a direct room needs two parties")
	}
	raw, err := key.Raw()
	if err != nil || key.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("identity key is not Ed25519")
	}
	priv, err := X25519FromEd25519Private(ed25519.PrivateKey(raw))
	if err != nil {
		return nil, err
	}
	opub, err := other.ExtractPublicKey()
	if err != nil || opub.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("peer %s carries no Ed25519 key", other)
	}
	oraw, err := opub.Raw()
	if err != nil {
		return nil, fmt.Errorf("peer %s key: %w", other, err)
	}
	pub, err := X25519FromEd25519Public(ed25519.PublicKey(oraw))
	if err != nil {
		return nil, err
	}
	dh, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("direct-room key agreement: %w", err)
	}
	a, b := self, other
	if b < a {
		a, b = b, a
	}
	parties := appendStr(appendStr(nil, string(a)), string(b))
	d := &DM{Parties: [2]peer.ID{a, b}}
	d.Salt = hkdfBytes(dh, parties, infoDMSalt, SaltSize)
	copy(d.Secret[:], hkdfBytes(dh, parties, infoDMEpoch0, SecretSize))
	d.Room = dmRoomName(a, b, d.Salt)
	return d, nil
}

// Genesis returns the body of the direct room's genesis and the keyring of
// self (whose KEM key for the room is kem) that already knows its secret.
// Either party may publish it; both write the same epoch, so the second
// copy a chain sees is a duplicate, not a fork. It carries no wraps and no
// state: both parties derive the secret themselves.
func (d *DM) Genesis(self peer.ID, kem *ecdh.PrivateKey) (*Keyring, []byte, error) {
	keys := DeriveEpoch(d.Room, 0, d.Secret)
	r := &Record{Reason: ReasonDM, ID: keys.ID, WritePub: keys.WritePub, Salt: d.Salt, Parties: d.Parties}
	body, err := r.Encode()
	if err != nil {
		return nil, nil, err
	}
	k := NewKeyring(d.Room, self, kem)
	k.Learn(d.Secret)
	return k, body, nil
}

// hkdfBytes is HKDF-SHA256 with an explicit salt.
func hkdfBytes(secret, salt []byte, info string, n int) []byte {
	return derive(secret, string(salt), info, n)
}
