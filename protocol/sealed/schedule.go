package sealed

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
)

// SecretSize is the size of an epoch secret.
const SecretSize = 32

// EpochIDSize is the size of an epoch's public label.
const EpochIDSize = 16

// EpochID is an epoch's public label: HKDF of its secret, so that it names
// the epoch without revealing anything of its keys.
type EpochID [EpochIDSize]byte

// String returns the hex form used in logs and the API.
func (id EpochID) String() string { return hex.EncodeToString(id[:]) }

// Labels of the HKDF-SHA256 derivations, each with the room name as salt.
// The room name as salt makes the same secret give unrelated keys in two
// rooms, so a secret reused by mistake does not join them.
const (
	infoMessage = "peerchat/v1/msg"
	infoWrite   = "peerchat/v1/write"
	infoEpochID = "peerchat/v1/epoch-id"
	infoAdd     = "peerchat/v1/add"
	infoState   = "peerchat/v1/state"
)

// EpochKeys are the keys of one epoch of one room, all derived from the
// epoch secret S_e:
//
//	K_e  = HKDF-SHA256(S_e, salt = room, info = "peerchat/v1/msg")      message key
//	W_e  = Ed25519 seed HKDF-SHA256(S_e, room, "peerchat/v1/write")      write key
//	E_e  = HKDF-SHA256(S_e, room, "peerchat/v1/epoch-id")[:16]          epoch ID
//	KS_e = HKDF-SHA256(S_e, room, "peerchat/v1/state")                  state key
//
// The state key is kept apart from the message key so that the epoch's
// encrypted room state can never be confused with a message sealed under
// the same key and nonce space.
type EpochKeys struct {
	Room     string
	Number   uint64
	Secret   [SecretSize]byte
	ID       EpochID
	Message  [32]byte
	State    [32]byte
	WritePub ed25519.PublicKey
	write    ed25519.PrivateKey
}

// DeriveEpoch returns the keys of epoch number of room whose secret is
// secret.
func DeriveEpoch(room string, number uint64, secret [SecretSize]byte) *EpochKeys {
	k := &EpochKeys{Room: room, Number: number, Secret: secret}
	copy(k.Message[:], derive(secret[:], room, infoMessage, 32))
	copy(k.State[:], derive(secret[:], room, infoState, 32))
	copy(k.ID[:], derive(secret[:], room, infoEpochID, EpochIDSize))
	k.write = ed25519.NewKeyFromSeed(derive(secret[:], room, infoWrite, ed25519.SeedSize))
	k.WritePub = k.write.Public().(ed25519.PublicKey)
	return k
}

// AddSecret returns the secret of the epoch that follows an add:
// HKDF-SHA256(S_e, room, "peerchat/v1/add" ‖ ratchet). Every member who
// holds S_e computes it with no wrap; the joiner is handed only the
// result, and since HKDF is one-way it cannot go back to S_e and read what
// was said before it joined. ratchet is a random value the owner publishes
// in the add record, so that two adds never yield the same secret.
func AddSecret(room string, prev [SecretSize]byte, ratchet []byte) [SecretSize]byte {
	var s [SecretSize]byte
	copy(s[:], derive(prev[:], room, infoAdd+string(ratchet), SecretSize))
	return s
}

// derive is HKDF-SHA256 with the room name as salt. Its only error is a
// length beyond 255 hash outputs, which no caller asks for.
func derive(secret []byte, room, info string, n int) []byte {
	out, err := hkdf.Key(sha256.New, secret, []byte(room), info, n)
	if err != nil {
		panic("sealed: hkdf: " + err.Error())
	}
	return out
}
