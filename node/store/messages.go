package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	ds "github.com/ipfs/go-datastore"

	"github.com/peerchat/peerchat/protocol"
)

// ErrNotFound is returned for a message that is not stored.
var ErrNotFound = errors.New("not found")

// location returns the room and order key of a stored envelope.
func (s *Store) location(ctx context.Context, id protocol.ID) (room, order string, err error) {
	v, err := s.db.Get(ctx, ds.NewKey(idKey(id)))
	if errors.Is(err, ds.ErrNotFound) {
		return "", "", fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("read message index %s: %w", id, err)
	}
	room, order, ok := strings.Cut(string(v), "/")
	if !ok {
		return "", "", fmt.Errorf("message index %s is corrupt", id)
	}
	return room, order, nil
}

// Has reports whether the envelope with id is stored.
func (s *Store) Has(ctx context.Context, id protocol.ID) (bool, error) {
	return s.db.Has(ctx, ds.NewKey(idKey(id)))
}

// Envelope returns the stored envelope with id.
func (s *Store) Envelope(ctx context.Context, id protocol.ID) (*protocol.Envelope, error) {
	room, order, err := s.location(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := s.db.Get(ctx, ds.NewKey(messageKey(room, order)))
	if err != nil {
		return nil, fmt.Errorf("read message %s: %w", id, err)
	}
	return protocol.DecodeStored(v)
}

// Message returns the stored message with id. A sealed message is read
// from the opened index (sealed.go), and is ErrNotFound when it did not
// open here.
func (s *Store) Message(ctx context.Context, id protocol.ID) (protocol.Message, error) {
	env, err := s.Envelope(ctx, id)
	if err != nil {
		return protocol.Message{}, err
	}
	if protocol.IsSealedKind(env.Kind) {
		return s.Opened(ctx, id)
	}
	return protocol.MessageFromEnvelope(env)
}

// History returns up to limit messages of room that come before the message
// with ID before (or the newest, when before is nil), oldest first, and
// whether older ones exist.
func (s *Store) History(ctx context.Context, room string, before *protocol.ID, limit int) ([]protocol.Message, bool, error) {
	upper := prefixEnd(roomPrefix(room))
	if before != nil {
		r, order, err := s.location(ctx, *before)
		if err != nil {
			return nil, false, err
		}
		if r != room {
			return nil, false, fmt.Errorf("message %s is in another room: %w", before, ErrNotFound)
		}
		upper = messageKey(room, order)
	}
	msgs, more, err := s.newestMessages(roomPrefix(room), upper, limit)
	if err != nil {
		return nil, false, err
	}
	return msgs, more, nil
}

// newestMessages decodes up to limit messages of the key range [lower,
// upper), the newest ones, and returns them oldest first, with whether
// older ones remain in the range.
func (s *Store) newestMessages(lower, upper string, limit int) ([]protocol.Message, bool, error) {
	var (
		msgs    []protocol.Message
		more    bool
		scanErr error
	)
	err := s.scan(lower, upper, true, func(key string, v []byte) bool {
		m, ok, err := s.historyEntry(key, v)
		if err != nil {
			scanErr = err
			return false
		}
		if !ok {
			return true // sealed, and nothing to show here
		}
		if len(msgs) == limit {
			more = true
			return false
		}
		msgs = append(msgs, m)
		return true
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, false, err
	}
	slices.Reverse(msgs)
	return msgs, more, nil
}

// CountMessages returns how many messages of room are stored.
func (s *Store) CountMessages(ctx context.Context, room string) (int, error) {
	n := 0
	p := roomPrefix(room)
	err := s.scan(p, prefixEnd(p), false, func(string, []byte) bool { n++; return true })
	return n, err
}
