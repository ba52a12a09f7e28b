package reconcile

// Respond answers one message from an Initiator. It keeps no state between
// messages: everything it needs is in the message and in items, so a node
// can serve many peers without tracking sessions, and a lost connection
// costs nothing to clean up.
//
// items is this node's set for the room. It should be sorted ascending
// (see Item.Compare) and free of duplicates; otherwise Respond sorts a copy,
// which costs time on every call. The set should not change between the
// messages of one reconciliation, or the initiator may learn a stale
// difference.
//
// The reply is never longer than cfg.MaxMessageBytes. Errors wrap
// ErrTooLarge, ErrVersion or ErrMalformed and mean the message was not
// acted on; the caller should end the session.
func Respond(items []Item, msg []byte, cfg Config) ([]byte, error) {
	cfg = cfg.WithDefaults()
	in, err := decodeMessage(msg, cfg.MaxMessageBytes)
	if err != nil {
		return nil, err
	}
	s := side{items: normalize(items), cfg: cfg}
	reply, _, err := s.answer(in)
	if err != nil {
		return nil, err
	}
	return reply, nil
}
