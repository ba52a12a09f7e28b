package sketch

import (
	"encoding/binary"
	"math/bits"
)

// Mixing constants; see the package documentation.
const (
	mixA      = 0xa0761d6478bd642f
	mixB      = 0xe7037ed1a0b428db
	checkSalt = 0x9e3779b97f4a7c15
)

// partSalt separates the hashes that place a key in each partition. They
// must be far apart: mix of one key with two nearby words gives correlated
// products, and correlated cells make tables peel far less often.
var partSalt = [K]uint64{0x8ebc6af09c88c6e3, 0x589965cc75374cc3, 0x1d8e4e27c47d124f}

// mix combines two words into one well-distributed word. It is a keyed
// hash good enough against accidental and blind collisions, not a
// cryptographic one: its job is to spread keys over cells and make
// collisions depend on the session seed.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^mixA, b^mixB)
	return hi ^ lo
}

// Key derives the 64-bit key of an item with the given 32-byte ID under
// seed. Both peers of a session must use the same seed.
func Key(seed uint64, id [32]byte) uint64 {
	h := seed
	for i := 0; i < 32; i += 8 {
		h = mix(h, binary.LittleEndian.Uint64(id[i:]))
	}
	return h
}

// check is the 32-bit check hash of key stored in HashSum.
func check(seed, key uint64) uint32 {
	return uint32(mix(key, seed^checkSalt))
}

// cellIndex is the cell of key in partition j of a table of m cells.
func cellIndex(seed, key uint64, j, m int) int {
	part := uint64(m / K)
	hi, _ := bits.Mul64(mix(key, seed^partSalt[j]), part)
	return j*int(part) + int(hi)
}
