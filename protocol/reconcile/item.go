package reconcile

import (
	"bytes"
	"cmp"
	"slices"
	"sort"

	"github.com/peerchat/peerchat/protocol"
)

// Item identifies one chat message of a room. Items are ordered by Lamport
// clock first so that ranges follow the history of the room, which makes
// recent messages (the ones most likely to differ) cluster in few ranges.
// The ID breaks ties and makes the order total.
type Item struct {
	// Lamport is the message's Lamport timestamp.
	Lamport uint64
	// ID is the message's content hash.
	ID protocol.ID
}

// Compare returns -1 if a sorts before b, +1 if it sorts after, and 0 if the
// two items are equal. It orders by Lamport and then by the ID bytes.
func (a Item) Compare(b Item) int {
	if c := cmp.Compare(a.Lamport, b.Lamport); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// normalize returns items sorted ascending without duplicates. Callers are
// asked to pass such slices already, so the common case costs one pass and
// returns the input unchanged; otherwise a sorted copy is made so that the
// caller's slice is never modified behind its back.
func normalize(items []Item) []Item {
	ok := true
	for i := 1; i < len(items); i++ {
		if items[i-1].Compare(items[i]) >= 0 {
			ok = false
			break
		}
	}
	if ok {
		return items
	}
	cp := slices.Clone(items)
	slices.SortFunc(cp, Item.Compare)
	return slices.Compact(cp)
}

// firstNotBelow returns the smallest index i >= from such that items[i] is
// not below b, or len(items) when there is none. items must be sorted.
func firstNotBelow(items []Item, from int, b bound) int {
	if b.inf {
		return len(items)
	}
	return from + sort.Search(len(items)-from, func(i int) bool {
		return items[from+i].Compare(b.item) >= 0
	})
}

// contains reports whether the sorted slice items holds it.
func contains(items []Item, it Item) bool {
	_, found := slices.BinarySearchFunc(items, it, Item.Compare)
	return found
}

// sortedUnique returns a sorted copy of items without duplicates, so that
// accessors hand out stable results that callers may modify freely.
func sortedUnique(items []Item) []Item {
	cp := slices.Clone(items)
	slices.SortFunc(cp, Item.Compare)
	return slices.Compact(cp)
}
