package reconcile

// bound is the exclusive upper end of a range. A finite bound is an Item
// value that need not belong to any set: an item x lies below the bound when
// x.Compare(b.item) < 0. The infinite bound lies above every item and closes
// the last range, which is why it is a separate flag rather than a maximal
// Item (an item with Lamport 2^64-1 and an all-0xff ID is legal).
type bound struct {
	item Item
	inf  bool
}

// minBound is the inclusive lower end of the first range: the smallest
// possible item.
var minBound = bound{}

// infBound closes the last range.
var infBound = bound{inf: true}

// compare orders bounds the way the ranges they close are ordered.
func (b bound) compare(c bound) int {
	switch {
	case b.inf && c.inf:
		return 0
	case b.inf:
		return 1
	case c.inf:
		return -1
	}
	return b.item.Compare(c.item)
}

// prefixLen returns how many ID bytes must be sent to reproduce the bound:
// trailing zero bytes are implied by the wire format, so they are dropped.
func (b bound) prefixLen() int {
	n := len(b.item.ID)
	for n > 0 && b.item.ID[n-1] == 0 {
		n--
	}
	return n
}

// separator returns the shortest bound that splits prev from next, that is
// a bound b with prev < b <= next. Short bounds matter because every range
// on the wire carries one. When the Lamports differ no ID bytes are needed;
// otherwise the bound keeps the ID prefix the two items share plus the
// first byte in which next is larger, and zeros after it. prev must sort
// strictly before next.
func separator(prev, next Item) bound {
	b := bound{item: Item{Lamport: next.Lamport}}
	if prev.Lamport != next.Lamport {
		return b
	}
	for i := range next.ID {
		b.item.ID[i] = next.ID[i]
		if prev.ID[i] != next.ID[i] {
			break
		}
	}
	return b
}
