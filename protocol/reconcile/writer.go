package reconcile

// writer builds one outgoing message while keeping it under the size
// limit. It writes Skip ranges only where they are needed to keep the
// ranges consecutive and leaves trailing Skips out, because the wire format
// makes the space after the last range implicitly Skip.
type writer struct {
	buf     []byte
	last    bound // upper bound of the last range written
	limit   int
	scratch []byte
}

func newWriter(limit int) *writer {
	return &writer{buf: []byte{Version}, last: minBound, limit: limit}
}

// encode returns the encoding of rs placed right after lower, preceded by
// a Skip from the last written bound when the two differ. The result lives
// in the writer's scratch buffer until the next call.
func (w *writer) encode(lower bound, rs []wireRange) []byte {
	tmp := w.scratch[:0]
	if w.last.compare(lower) != 0 {
		tmp = appendRange(tmp, w.last, &wireRange{upper: lower, mode: modeSkip})
	}
	prev := lower
	for i := range rs {
		tmp = appendRange(tmp, prev, &rs[i])
		prev = rs[i].upper
	}
	w.scratch = tmp
	return tmp
}

// tryWrite appends rs, which cover the space from lower onwards, if they
// fit while leaving room for the remainder range. It reports whether they
// were written.
func (w *writer) tryWrite(lower bound, rs []wireRange) bool {
	enc := w.encode(lower, rs)
	if len(w.buf)+len(enc)+remainderReserve > w.limit {
		return false
	}
	w.buf = append(w.buf, enc...)
	w.last = rs[len(rs)-1].upper
	return true
}

// fitsAlone reports whether rs, covering the space from lower onwards,
// would fit in a message that holds nothing else. Output that does not is
// never worth deferring to a later round.
func (w *writer) fitsAlone(lower bound, rs []wireRange) bool {
	n := 0
	prev := lower
	for i := range rs {
		w.scratch = appendRange(w.scratch[:0], prev, &rs[i])
		n += len(w.scratch)
		prev = rs[i].upper
	}
	return 1+maxBoundBytes+n+remainderReserve <= w.limit
}

// writeRemainder closes the message with one Fingerprint range that covers
// everything from lower on. The peer compares it with its own fingerprint
// and refines it in the next round, which is how work that did not fit is
// deferred without being lost. The reserve kept by tryWrite guarantees it
// fits.
func (w *writer) writeRemainder(lower bound, fp fingerprint) {
	enc := w.encode(lower, []wireRange{{upper: infBound, mode: modeFingerprint, fp: fp}})
	w.buf = append(w.buf, enc...)
	w.last = infBound
}
