package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
)

// More of the key layout (see keys.go):
//
//	/rc/<room>/<peer id>/<kind>   the newest receipt envelope of that peer
//	/mb/<room>/<peer id>          present once the peer was seen in the room
//	/seen/<peer id>               JSON Seen: name and when last seen
const (
	prefixMarkers = "/rc/"
	prefixMembers = "/mb/"
	prefixSeen    = "/seen/"
)

// PutMarker stores a receipt envelope as peer's newest marker of kind in
// room and appends events, in one batch, waiting for the disk when wait is
// true. The caller decides that the marker is newer: markers never move
// backwards.
func (s *Store) PutMarker(ctx context.Context, wait bool, room, peer, kind string, env []byte, events ...protocol.Event) error {
	key := prefixMarkers + room + "/" + peer + "/" + kind
	return s.write(ctx, wait, []kv{{key, env}}, events...)
}

// Markers returns every stored receipt envelope of room.
func (s *Store) Markers(ctx context.Context, room string) ([][]byte, error) {
	var out [][]byte
	p := prefixMarkers + room + "/"
	err := s.scan(p, prefixEnd(p), false, func(_ string, v []byte) bool {
		out = append(out, append([]byte(nil), v...))
		return true
	})
	return out, err
}

// AllMarkers returns every stored receipt envelope, of every room.
func (s *Store) AllMarkers(ctx context.Context) ([][]byte, error) {
	var out [][]byte
	err := s.scan(prefixMarkers, prefixEnd(prefixMarkers), false, func(_ string, v []byte) bool {
		out = append(out, append([]byte(nil), v...))
		return true
	})
	return out, err
}

// AddMember records that peer was seen in room.
func (s *Store) AddMember(ctx context.Context, room, peer string) error {
	return s.write(ctx, false, []kv{{prefixMembers + room + "/" + peer, []byte{1}}})
}

// Members lists the peers ever seen in room.
func (s *Store) Members(ctx context.Context, room string) ([]string, error) {
	var out []string
	p := prefixMembers + room + "/"
	err := s.scan(p, prefixEnd(p), false, func(key string, _ []byte) bool {
		out = append(out, key[len(p):])
		return true
	})
	return out, err
}

// Seen is what the node remembers of a peer between runs.
type Seen struct {
	Name     string `json:"name"`
	LastSeen int64  `json:"last_seen_ms"`
}

// SaveSeen records when peer was last seen. It does not wait for the disk:
// a lost update only makes last_seen a little older.
func (s *Store) SaveSeen(ctx context.Context, peer string, seen Seen) error {
	v, err := json.Marshal(seen)
	if err != nil {
		return fmt.Errorf("encode last seen: %w", err)
	}
	return s.write(ctx, false, []kv{{prefixSeen + peer, v}})
}

// AllSeen returns every remembered peer.
func (s *Store) AllSeen(ctx context.Context) (map[string]Seen, error) {
	out := map[string]Seen{}
	err := s.scan(prefixSeen, prefixEnd(prefixSeen), false, func(key string, v []byte) bool {
		var seen Seen
		if json.Unmarshal(v, &seen) == nil {
			out[strings.TrimPrefix(key, prefixSeen)] = seen
		}
		return true
	})
	return out, err
}

// AuthoredAfter returns the messages that author wrote in room and that
// order after (afterLamport, afterID), up to and including (uptoLamport,
// uptoID), oldest first. A nil after means from the start; a nil upto
// means to the end. At most limit messages are returned, the newest ones
// when more exist. Other authors' messages are skipped without decoding
// their bodies, which is what makes a receipt cheap to apply for a member
// who wrote none of what it covers.
func (s *Store) AuthoredAfter(ctx context.Context, room string, author peer.ID, after, upto *Item, limit int) ([]protocol.Message, error) {
	lower := roomPrefix(room)
	if after != nil {
		lower = messageKey(room, orderKey(after.Lamport, after.ID)) + "\x00"
	}
	upper := prefixEnd(roomPrefix(room))
	if upto != nil {
		upper = messageKey(room, orderKey(upto.Lamport, upto.ID)) + "\x00"
	}
	var (
		msgs    []protocol.Message
		scanErr error
	)
	err := s.scanRaw(lower, upper, true, func(key, v []byte) bool {
		if a, ok := protocol.AuthorOf(v); ok && string(a) != string(author) {
			return true // most messages are others': skip them without decoding
		}
		m, ok, err := s.historyEntry(string(key), v)
		if err != nil {
			scanErr = err
			return false
		}
		if !ok {
			return true // sealed, and nothing to show here
		}
		msgs = append(msgs, m)
		return len(msgs) < limit
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, err
	}
	slices.Reverse(msgs)
	return msgs, nil
}

// CountAfter counts the messages of room after (lamport, id) whose author
// is not author: the unread count when that is the read marker.
func (s *Store) CountAfter(ctx context.Context, room string, after *Item, author peer.ID) (int, error) {
	lower := roomPrefix(room)
	if after != nil {
		lower = messageKey(room, orderKey(after.Lamport, after.ID)) + "\x00"
	}
	// Presence asks for every room's count every few seconds, and with no
	// read marker the count covers the whole history: reading only the
	// author field keeps that from decoding, and allocating for, every
	// envelope of the room each time.
	n := 0
	var scanErr error
	err := s.scanRaw(lower, prefixEnd(roomPrefix(room)), false, func(key, v []byte) bool {
		a, ok := protocol.AuthorOf(v)
		if !ok {
			scanErr = fmt.Errorf("count unread in %s: %w", room, protocol.ErrMalformed)
			return false
		}
		if string(a) == string(author) {
			return true
		}
		if isSealed(v) {
			// Only a sealed message that opened here is unread history.
			if !isSealedMessage(v) {
				return true
			}
			has, err := s.hasOpened(ctx, openedKeyOf(string(key)))
			if err != nil {
				scanErr = fmt.Errorf("count unread in %s: %w", room, err)
				return false
			}
			if !has {
				return true
			}
		}
		n++
		return true
	})
	if err == nil {
		err = scanErr
	}
	return n, err
}
