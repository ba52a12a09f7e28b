// Package reconcile implements range-based set reconciliation between two
// peers that each hold the messages of one chat room.
//
// The design follows the idea behind Negentropy (Nostr NIP-77): both sides
// order their items by (Lamport, ID) and talk about ranges of that ordered
// space instead of about individual items. For each range a side either says
// nothing is left to do (Skip), sends a short fingerprint of everything it
// holds there (Fingerprint), or, when the range is small, lists its items
// (IDList). Ranges whose fingerprints agree are finished after one exchange,
// and ranges that disagree are split into BranchFactor smaller ranges. Because
// only disagreeing ranges are refined, the bytes exchanged grow with the size
// of the difference times the depth of the split tree, not with the size of
// the sets.
//
// One side, the Initiator, keeps state across rounds and ends knowing both
// directions of the difference: Have (items it holds that the peer lacks) and
// Need (items the peer holds that it lacks). The other side answers each
// message with Respond and keeps no state, which lets a server answer many
// peers without per-session memory. Transferring the items themselves is not
// part of this package: after reconciliation the initiator pushes its Have
// items and fetches its Need items over whatever protocol carries messages.
//
// # Wire format
//
// A message is one version byte (Version, currently 1) followed by zero or
// more ranges until the end of the message. Ranges are consecutive: the
// first starts at the smallest possible item (Lamport 0, ID all zeros,
// inclusive) and each ends at its upper bound (exclusive), which is also the
// lower bound of the next. Space after the last range is implicitly Skip, so
// a message that is only the version byte means "nothing left to do".
//
// Each range is encoded as:
//
//	header  1 byte: mode<<6 | prefixLen
//	        mode: 0 Skip, 1 Fingerprint, 2 IDList, 3 IDListReply
//	        prefixLen: 0..32, or 63 for the infinite bound (must be last)
//	lamport uvarint: upper.Lamport - previous upper bound's Lamport
//	        (absent for the infinite bound; the first range counts from 0)
//	prefix  prefixLen bytes: the upper bound's ID with the rest zero
//	        (absent for the infinite bound)
//	payload depending on mode:
//	        Skip:        nothing
//	        Fingerprint: 16 bytes
//	        IDList:      uvarint count, then count items
//	        IDListReply: uvarint count, then count items,
//	                     uvarint n, then an n-byte bit field
//
// Every uvarint must be minimal (no padding 0x80 bytes before a zero last
// byte), and a prefix must not end in a zero byte, since the zeros after it
// are implied: a message has exactly one encoding, and a decoder refuses
// any other with ErrMalformed.
//
// An item in a list is uvarint(Lamport - previous Lamport) followed by the
// 32-byte ID, where the first item of a list counts from the Lamport of the
// range's lower bound. Items must be strictly ascending and lie inside the
// range. Bounds must be strictly ascending. A bound is as short as it can be
// while still separating two neighbouring items: when their Lamports differ
// it carries no ID bytes at all, otherwise only the shared ID prefix plus one
// byte.
//
// The fingerprint of a range is the first 16 bytes of
// SHA-256(idSum || lamportSum || uvarint(count)), where idSum is the sum of
// the IDs read as little-endian 256-bit integers modulo 2^256 (32 bytes,
// little-endian) and lamportSum the sum of the Lamports modulo 2^64 (8 bytes,
// little-endian). Sums make the fingerprint of any range cheap to compute
// and independent of how a range was assembled.
//
// IDList carries every item the sender holds in the range. A responder that
// receives an IDList answers with IDListReply for the same range: the items
// it holds that the list lacks, plus a bit field with one bit per listed item
// (bit i%8 of byte i/8) that is set when the responder lacks that item. When
// nothing differs it answers Skip instead, and when the reply could not fit
// even in an otherwise empty message it splits the range as it would on a
// fingerprint mismatch. An initiator that receives an
// IDList or IDListReply has what it needs to finish that range.
//
// No message is larger than Config.MaxMessageBytes. When the answers to all
// ranges would not fit, a side stops at the first range that does not fit
// and covers the remainder of the space with one Fingerprint range, which
// the peer refines in the next round.
package reconcile
