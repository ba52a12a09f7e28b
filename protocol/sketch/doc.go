// Package sketch implements an invertible Bloom lookup table (IBLT) over
// 64-bit keys, the set-difference sketch behind /peerchat/sync/1.1.0.
//
// Each side of a sync inserts the keys of its items into a Table of the same
// size and seed. Subtracting one table from the other cancels every key both
// sides hold, and what is left, when it is small enough for the table,
// peels apart into both directions of the difference: keys only the first
// table held and keys only the second held. The cost of a table grows with
// the size of the difference, not with the size of the sets, and unlike
// range-based reconciliation it does not depend on where in the history the
// differences lie.
//
// A key is derived from an item's 32-byte ID under a per-session seed (Key),
// so that two items whose keys collide in one session almost surely do not
// in the next, and a peer that does not know the seed cannot craft items
// that collide on purpose.
//
// The package is pure: it knows nothing of streams or stores. Messages
// (message.go) are the payloads of the sync protocol's Sketch frames; see
// docs/protocol.md for how a session uses them.
//
// # Cells
//
// A table has m cells, m a positive multiple of K (3) and at most MaxCells.
// The cells form K partitions of m/K cells, and a key goes into exactly one
// cell of each partition, so its K cells are always distinct. A cell holds
// the signed number of keys inserted minus keys removed (Count), the XOR of
// those keys (KeySum), and the XOR of a 32-bit check hash of each key
// (HashSum). A cell is pure when its count is +1 or -1, its HashSum is the
// check hash of its KeySum, and its KeySum maps to that cell: it then holds
// exactly one key, with overwhelming probability.
//
// # Hashing
//
// All hashing uses mix(a, b): the 128-bit product of (a XOR c1) and
// (b XOR c2), folded to 64 bits by XOR of its halves, with c1 =
// 0xa0761d6478bd642f and c2 = 0xe7037ed1a0b428db. With w0..w3 the ID read
// as four little-endian uint64 words:
//
//	key          = mix(mix(mix(mix(seed, w0), w1), w2), w3)
//	cell in partition j (0-based)
//	             = j*(m/K) + hi64(mix(key, seed XOR s_j) * (m/K))
//	check hash   = low 32 bits of mix(key, seed XOR 0x9e3779b97f4a7c15)
//
// where hi64(x*n) is the upper 64 bits of the 128-bit product, a uniform
// index in [0, n), and s_0..s_2 are 0x8ebc6af09c88c6e3, 0x589965cc75374cc3
// and 0x1d8e4e27c47d124f.
package sketch
