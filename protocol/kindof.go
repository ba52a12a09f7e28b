package protocol

// KindOf reads only the kind field of an encoded envelope, as a view into
// data, like AuthorOf: scans of a room's stored envelopes that count or
// skip by kind (a private room's epochs and join requests are no history
// to show) then pay for no decode. It checks nothing else; ok is false
// when the bytes do not reach the kind field.
func KindOf(data []byte) (kind []byte, ok bool) {
	r := reader{buf: data}
	if r.byte() != Version {
		return nil, false
	}
	kind = r.field(maxKindLen)
	return kind, r.err == nil
}
