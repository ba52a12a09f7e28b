package reconcile

import "fmt"

// side is one party's view while it answers a message: its items, its
// configuration and whether it is the initiator. Both roles share this
// code because they treat Skip and Fingerprint ranges the same way and
// differ only in what they do with item lists.
type side struct {
	items     []Item // sorted, unique
	cfg       Config // already WithDefaults
	initiator bool
}

// diff collects what an initiator learns from one message. It is kept
// apart from the Initiator until the whole message was handled, so that a
// message rejected halfway leaves no trace.
type diff struct {
	have, need []Item
}

// answer handles the ranges of one incoming message in order and returns
// the message to send back. It stops early, deferring the rest of the space
// with one Fingerprint range, when the reply would exceed the size limit.
func (s *side) answer(in []wireRange) ([]byte, diff, error) {
	w := newWriter(s.cfg.MaxMessageBytes)
	var d diff
	lower := minBound
	pos := 0
	for i := range in {
		r := &in[i]
		end := firstNotBelow(s.items, pos, r.upper)
		mine := s.items[pos:end]
		out, err := s.rangeOutput(r, mine, &d)
		if err != nil {
			return nil, diff{}, fmt.Errorf("range %d: %w", i, err)
		}
		if len(out) > 0 && !w.tryWrite(lower, out) {
			if r.mode == modeIDList && !s.initiator && !w.fitsAlone(lower, out) {
				// The reply can never fit; fall back to splitting so
				// that the pieces can be answered one by one.
				out = s.split(mine, r.upper)
				if w.tryWrite(lower, out) {
					lower, pos = r.upper, end
					continue
				}
			}
			w.writeRemainder(lower, fingerprintOf(s.items[pos:]))
			return w.buf, d, nil
		}
		lower, pos = r.upper, end
	}
	return w.buf, d, nil
}

// rangeOutput decides what to send for one incoming range, given the items
// this side holds in it, and records any difference it learns in d. An
// empty result means the range is finished.
func (s *side) rangeOutput(r *wireRange, mine []Item, d *diff) ([]wireRange, error) {
	switch r.mode {
	case modeSkip:
		return nil, nil
	case modeFingerprint:
		if fingerprintOf(mine) == r.fp {
			return nil, nil
		}
		return s.split(mine, r.upper), nil
	case modeIDList:
		if s.initiator {
			d.have, d.need = mergeDiff(mine, r.items, d.have, d.need)
			return nil, nil
		}
		return s.replyToList(mine, r), nil
	case modeIDListReply:
		if !s.initiator {
			return nil, fmt.Errorf("%w: IDListReply sent to the responder", ErrMalformed)
		}
		return nil, acceptReply(mine, r, d)
	}
	return nil, fmt.Errorf("%w: unknown mode %d", ErrMalformed, r.mode)
}

// split answers a mismatched range. Few items are listed outright, which
// finishes the range in one more message; more are divided into up to
// BranchFactor buckets of nearly equal size, each with a fingerprint, so
// that only the buckets that really differ are refined further.
func (s *side) split(mine []Item, upper bound) []wireRange {
	if len(mine) <= s.cfg.IDListThreshold {
		return []wireRange{{upper: upper, mode: modeIDList, items: mine}}
	}
	buckets := min(s.cfg.BranchFactor, len(mine))
	out := make([]wireRange, 0, buckets)
	start := 0
	for b := 1; b <= buckets; b++ {
		end := b * len(mine) / buckets
		r := wireRange{upper: upper, mode: modeFingerprint, fp: fingerprintOf(mine[start:end])}
		if b < buckets {
			r.upper = separator(mine[end-1], mine[end])
		}
		out = append(out, r)
		start = end
	}
	return out
}

// replyToList is the responder's answer to an initiator's item list: the
// items the initiator lacks in full, and one bit per listed item that the
// responder lacks. That tells the initiator both directions at once while
// sending only the difference, rather than echoing every shared ID.
func (s *side) replyToList(mine []Item, r *wireRange) []wireRange {
	var send []Item
	var bits []byte
	i, j := 0, 0
	for i < len(mine) || j < len(r.items) {
		var c int
		switch {
		case i == len(mine):
			c = 1
		case j == len(r.items):
			c = -1
		default:
			c = mine[i].Compare(r.items[j])
		}
		switch {
		case c < 0:
			send = append(send, mine[i])
			i++
		case c > 0:
			if bits == nil {
				bits = make([]byte, (len(r.items)+7)/8)
			}
			bits[j/8] |= 1 << (j % 8)
			j++
		default:
			i++
			j++
		}
	}
	if send == nil && bits == nil {
		return nil // Both hold the same items: the range is finished.
	}
	if bits == nil {
		bits = make([]byte, (len(r.items)+7)/8)
	}
	return []wireRange{{upper: r.upper, mode: modeIDListReply, items: send, bits: bits}}
}

// acceptReply applies a responder's IDListReply to the initiator's view.
// The bit field must have exactly one bit per item the initiator holds in
// the range (which is the list it sent), with unused bits zero; anything
// else means the peer answered a different question.
func acceptReply(mine []Item, r *wireRange, d *diff) error {
	if len(r.bits) != (len(mine)+7)/8 {
		return fmt.Errorf("%w: bit field of %d bytes for %d items", ErrMalformed, len(r.bits), len(mine))
	}
	if rem := len(mine) % 8; rem != 0 && r.bits[len(r.bits)-1]>>rem != 0 {
		return fmt.Errorf("%w: padding bits set", ErrMalformed)
	}
	for i, it := range mine {
		if r.bits[i/8]&(1<<(i%8)) != 0 {
			d.have = append(d.have, it)
		}
	}
	for _, it := range r.items {
		if !contains(mine, it) {
			d.need = append(d.need, it)
		}
	}
	return nil
}

// mergeDiff walks two sorted lists and appends the items only in mine to
// have and the items only in theirs to need.
func mergeDiff(mine, theirs, have, need []Item) ([]Item, []Item) {
	i, j := 0, 0
	for i < len(mine) && j < len(theirs) {
		switch c := mine[i].Compare(theirs[j]); {
		case c < 0:
			have = append(have, mine[i])
			i++
		case c > 0:
			need = append(need, theirs[j])
			j++
		default:
			i++
			j++
		}
	}
	have = append(have, mine[i:]...)
	need = append(need, theirs[j:]...)
	return have, need
}
