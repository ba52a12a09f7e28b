package reconcile

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// fingerprintSize is the length of a range fingerprint on the wire. Sixteen
// bytes keep an accidental collision, which would hide a difference, out of
// reach while staying much smaller than a single 32-byte ID.
const fingerprintSize = 16

// fingerprint summarizes the items of one range.
type fingerprint [fingerprintSize]byte

// accumulator adds items into the sums a fingerprint is made of. Sums are
// used instead of hashing the concatenated items because they do not depend
// on how a range is assembled, so both sides agree no matter how each of
// them split the space before. The Lamport sum is included because the ID
// alone would let two sets that differ only in an item's Lamport look equal.
type accumulator struct {
	idSum    [4]uint64 // little-endian limbs of a 256-bit sum
	lamports uint64
	count    uint64
}

// add folds one item into the sums, modulo 2^256 for IDs and 2^64 for
// Lamports.
func (a *accumulator) add(it Item) {
	var carry uint64
	for i := range a.idSum {
		limb := binary.LittleEndian.Uint64(it.ID[8*i:])
		a.idSum[i], carry = bits.Add64(a.idSum[i], limb, carry)
	}
	a.lamports += it.Lamport
	a.count++
}

// fingerprint hashes the sums and the count. Hashing makes the 16 bytes on
// the wire hard to steer: a peer cannot cheaply craft a set whose
// fingerprint matches ours without holding the same items.
func (a *accumulator) fingerprint() fingerprint {
	var buf [32 + 8 + binary.MaxVarintLen64]byte
	for i, limb := range a.idSum {
		binary.LittleEndian.PutUint64(buf[8*i:], limb)
	}
	binary.LittleEndian.PutUint64(buf[32:], a.lamports)
	n := 40 + binary.PutUvarint(buf[40:], a.count)
	sum := sha256.Sum256(buf[:n])
	var fp fingerprint
	copy(fp[:], sum[:])
	return fp
}

// fingerprintOf returns the fingerprint of a range holding exactly items.
func fingerprintOf(items []Item) fingerprint {
	var a accumulator
	for _, it := range items {
		a.add(it)
	}
	return a.fingerprint()
}
