package reconcile

import "encoding/binary"

// Defaults used for zero fields of Config.
const (
	// DefaultMaxMessageBytes keeps frames small enough to interleave with
	// other streams on one connection while leaving room for thousands of
	// IDs per round.
	DefaultMaxMessageBytes = 256 << 10
	// DefaultBranchFactor splits a mismatched range into 16 parts, which
	// keeps the split tree shallow (few rounds) without sending many
	// fingerprints for ranges that turn out to be equal.
	DefaultBranchFactor = 16
	// DefaultIDListThreshold lists the items of a range once it holds at
	// most 8 of them. A list costs about 33 bytes per item, while one more
	// split costs about 19 bytes per fingerprint, so splitting pays off down
	// to roughly BranchFactor/2 items. Measured on two sets of 100,000
	// items differing in 1,000, a threshold of 8 needs half the bytes and
	// half the round trips of 32, which also fills frames sooner.
	DefaultIDListThreshold = 8
)

// Limits on Config fields. They keep the smallest legal message large
// enough to always make progress and stop a configuration from asking for
// absurd amounts of work per range.
const (
	minBranchFactor    = 2
	maxBranchFactor    = 256
	minIDListThreshold = 1
	maxIDListThreshold = 1024
)

// Config tunes reconciliation. The zero value selects the defaults, and
// both peers should use the same values: a side rejects messages longer
// than its own MaxMessageBytes.
type Config struct {
	// MaxMessageBytes bounds every message either side produces. Values
	// below the minimum needed to always make progress (a few KiB,
	// depending on the other fields) are raised to that minimum.
	MaxMessageBytes int
	// BranchFactor is how many sub-ranges a mismatched range is split
	// into. It is clamped to [2, 256].
	BranchFactor int
	// IDListThreshold is the largest number of items a side lists
	// explicitly instead of splitting further. It is clamped to [1, 1024].
	IDListThreshold int
}

// WithDefaults returns the configuration actually used: zero fields
// replaced by defaults and every field clamped to its legal range.
func (c Config) WithDefaults() Config {
	if c.BranchFactor == 0 {
		c.BranchFactor = DefaultBranchFactor
	}
	c.BranchFactor = min(max(c.BranchFactor, minBranchFactor), maxBranchFactor)
	if c.IDListThreshold == 0 {
		c.IDListThreshold = DefaultIDListThreshold
	}
	c.IDListThreshold = min(max(c.IDListThreshold, minIDListThreshold), maxIDListThreshold)
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	c.MaxMessageBytes = max(c.MaxMessageBytes, c.minMessageBytes())
	return c
}

// Worst-case encoded sizes used for budgeting messages.
const (
	maxBoundBytes = 1 + binary.MaxVarintLen64 + 32
	maxItemBytes  = binary.MaxVarintLen64 + 32
	minItemBytes  = 1 + 32
	// remainderReserve is kept free in every message so that a Skip and a
	// Fingerprint for the rest of the space can always be appended.
	remainderReserve = 2*maxBoundBytes + fingerprintSize
)

// minMessageBytes is the smallest limit under which a side can always
// answer at least the first range of a message: the version byte, a Skip to
// reach that range, the largest split a side produces on its own, and the
// reserve for the remainder. Guaranteeing this is what guarantees progress.
func (c Config) minMessageBytes() int {
	fingerprints := c.BranchFactor * (maxBoundBytes + fingerprintSize)
	list := maxBoundBytes + binary.MaxVarintLen64 + c.IDListThreshold*maxItemBytes
	return 1 + maxBoundBytes + max(fingerprints, list) + remainderReserve
}
