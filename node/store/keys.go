package store

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/peerchat/peerchat/protocol"
)

// The datastore's key layout. Every variable segment has a fixed width or a
// restricted alphabet (room names), so lexical key order is the order we
// read in and prefix scans never match a neighbouring segment.
//
//	/m/<room>/<lamport:16 hex><id:64 hex>  envelope bytes, in history order
//	/id/<id:64 hex>                        "<room>/<order>" of that envelope
//	/cm/<room>/<sha256(client_msg_id)>     id of the message sent with that key
//	/ev/<seq:16 hex>                       event JSON
//	/rooms/<room>                          present while the room is joined
//	/peers/<peer id>                       JSON list of the peer's addresses
//	/meta/seq, /meta/lamport               counters that survive restarts
//	/meta/schema                           the folder's SchemaVersion (schema.go)
//
// /meta/seq-reserved belongs to schema 1 only: the upgrade to 2 folds it
// into /meta/seq and deletes it.
const (
	prefixMessages = "/m/"
	prefixIDs      = "/id/"
	prefixClient   = "/cm/"
	prefixEvents   = "/ev/"
	prefixRooms    = "/rooms/"
	prefixPeers    = "/peers/"
	keySeq         = "/meta/seq"
	keySeqReserved = "/meta/seq-reserved"
	keyLamport     = "/meta/lamport"
)

// orderKey is the fixed-width key segment that sorts envelopes by
// (Lamport clock, then ID): the total order every node agrees on.
func orderKey(lamport uint64, id protocol.ID) string {
	return fmt.Sprintf("%016x%s", lamport, id.String())
}

// parseOrderKeyBytes is parseOrderKey without converting the key to a
// string: a sync reads every key of a room through it.
func parseOrderKeyBytes(b []byte) (uint64, protocol.ID, error) {
	var id protocol.ID
	if len(b) != 16+64 {
		return 0, id, fmt.Errorf("order key %q has the wrong length", b)
	}
	var l [8]byte
	if _, err := hex.Decode(l[:], b[:16]); err != nil {
		return 0, id, fmt.Errorf("order key %q: %w", b, err)
	}
	if _, err := hex.Decode(id[:], b[16:]); err != nil {
		return 0, id, fmt.Errorf("order key %q: %w", b, err)
	}
	return binary.BigEndian.Uint64(l[:]), id, nil
}

func parseOrderKey(s string) (uint64, protocol.ID, error) {
	var id protocol.ID
	if len(s) != 16+64 {
		return 0, id, fmt.Errorf("order key %q has the wrong length", s)
	}
	lamport, err := strconv.ParseUint(s[:16], 16, 64)
	if err != nil {
		return 0, id, fmt.Errorf("order key %q: %w", s, err)
	}
	if _, err := hex.Decode(id[:], []byte(s[16:])); err != nil {
		return 0, id, fmt.Errorf("order key %q: %w", s, err)
	}
	return lamport, id, nil
}

func messageKey(room, order string) string { return prefixMessages + room + "/" + order }
func roomPrefix(room string) string        { return prefixMessages + room + "/" }
func idKey(id protocol.ID) string          { return prefixIDs + id.String() }
func eventKey(seq uint64) string           { return fmt.Sprintf("%s%016x", prefixEvents, seq) }
