package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	ds "github.com/ipfs/go-datastore"

	"github.com/peerchat/peerchat/protocol"
)

// More of the key layout (see keys.go), for private rooms:
//
//	/pvm/<room>/<order>   Message JSON of a sealed.message that opened here
//
// A private room's envelopes are stored in /m/ like any other, so sync and
// retention treat them alike, but their bodies are ciphertext (or, for
// epochs, join requests and key announcements, no history at all). What
// the history shows is the opened index: intake writes an entry for each
// sealed message the private role opened, under the same order key, and
// the history readers take the entry in place of the envelope's body and
// skip sealed envelopes without one. A relay, or a member that does not
// hold an epoch, thus stores and syncs the ciphertext but shows nothing.
const prefixOpened = "/pvm/"

func openedKey(room, order string) string { return prefixOpened + room + "/" + order }

// openedKeyOf returns the opened index key of the envelope stored under
// the message key mkey (/m/<room>/<order>).
func openedKeyOf(mkey string) string { return prefixOpened + strings.TrimPrefix(mkey, prefixMessages) }

// isSealed reports whether an encoded envelope is of a sealed kind,
// reading its kind field only.
func isSealed(v []byte) bool {
	k, ok := protocol.KindOf(v)
	return ok && protocol.IsSealedKind(string(k))
}

// isSealedMessage reports whether an encoded envelope is a sealed.message.
func isSealedMessage(v []byte) bool {
	k, ok := protocol.KindOf(v)
	return ok && string(k) == protocol.KindSealedMessage
}

// AddSealed stores a validated sealed envelope in the room's history and
// its sync index, without a message event: a relay, or a member that
// cannot open it yet, has no text to show. When wait is false it returns
// without waiting for the disk, as AddMessageAsync does (sync fetches a
// lost envelope again); a local send waits. Outcome says whether the
// envelope was new.
func (s *Store) AddSealed(ctx context.Context, env *protocol.Envelope, wait bool) (Outcome, error) {
	if !protocol.IsSealedKind(env.Kind) {
		return 0, fmt.Errorf("add sealed: %w: %q", protocol.ErrKind, env.Kind)
	}
	w := &write{env: env, msg: protocol.SealedStub(env), noEvent: true, done: make(chan struct{}), async: !wait}
	if wait {
		err := s.submit(ctx, w)
		return w.result.Outcome, err
	}
	return Added, s.enqueue(ctx, w)
}

// enqueue queues w for the committer without waiting for it.
func (s *Store) enqueue(ctx context.Context, w *write) error {
	if s.closed.Load() {
		return ErrClosed
	}
	select {
	case s.writes <- w:
		return nil
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AddOpened records msg as the plaintext of the sealed message env, and
// appends its message event, in one batch, once: a second call for the
// same envelope (a restart's replay, a copy by sync) changes nothing and
// reports Duplicate. It waits for the disk only when wait is true. env
// must have been stored first (AddSealed); the committer keeps the order.
func (s *Store) AddOpened(ctx context.Context, env *protocol.Envelope, msg protocol.Message, wait bool) (Outcome, error) {
	if env.Kind != protocol.KindSealedMessage {
		return 0, fmt.Errorf("add opened: %w: %q", protocol.ErrKind, env.Kind)
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return 0, fmt.Errorf("encode opened message: %w", err)
	}
	key := openedKey(env.Room, orderKey(env.Lamport, env.ID()))
	ev := protocol.Event{Type: protocol.EventMessage, Room: env.Room, Message: &msg}
	w := &write{kvs: []kv{{key, data}}, events: []protocol.Event{ev}, ifAbsent: key, done: make(chan struct{}), async: !wait}
	if !wait {
		return Added, s.enqueue(ctx, w)
	}
	err = s.submit(ctx, w)
	return w.result.Outcome, err
}

// Opened returns the opened message stored for the sealed envelope with
// id, or ErrNotFound when it did not open here.
func (s *Store) Opened(ctx context.Context, id protocol.ID) (protocol.Message, error) {
	room, order, err := s.location(ctx, id)
	if err != nil {
		return protocol.Message{}, err
	}
	return s.openedAt(ctx, openedKey(room, order))
}

func (s *Store) hasOpened(ctx context.Context, key string) (bool, error) {
	return s.db.Has(ctx, ds.NewKey(key))
}

func (s *Store) openedAt(ctx context.Context, key string) (protocol.Message, error) {
	v, err := s.db.Get(ctx, ds.NewKey(key))
	if errors.Is(err, ds.ErrNotFound) {
		return protocol.Message{}, fmt.Errorf("opened message %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return protocol.Message{}, fmt.Errorf("read opened message %s: %w", key, err)
	}
	var m protocol.Message
	if err := json.Unmarshal(v, &m); err != nil {
		return protocol.Message{}, fmt.Errorf("opened message %s is corrupt: %w", key, err)
	}
	return m, nil
}

// historyEntry turns one stored envelope of a room's history into the
// message readers show: a public message from its body, a sealed message
// from the opened index. ok is false for what shows nothing (a sealed
// envelope that did not open here, an epoch, a join request).
func (s *Store) historyEntry(mkey string, v []byte) (m protocol.Message, ok bool, err error) {
	if isSealed(v) {
		if !isSealedMessage(v) {
			return m, false, nil
		}
		m, err = s.openedAt(context.Background(), openedKeyOf(mkey))
		if errors.Is(err, ErrNotFound) {
			return m, false, nil
		}
		return m, err == nil, err
	}
	env, err := protocol.DecodeStored(v)
	if err != nil {
		return m, false, err
	}
	m, err = protocol.MessageFromEnvelope(env)
	return m, err == nil, err
}

// UnopenedSealed returns the stored sealed messages of room that carry no
// opened entry, oldest first: on start the private role, once loaded,
// is handed them again, since what it held waiting for a key lived in
// memory only.
func (s *Store) UnopenedSealed(ctx context.Context, room string) ([]*protocol.Envelope, error) {
	var out []*protocol.Envelope
	var scanErr error
	p := roomPrefix(room)
	err := s.scan(p, prefixEnd(p), false, func(key string, v []byte) bool {
		if !isSealedMessage(v) {
			return true
		}
		has, err := s.db.Has(ctx, ds.NewKey(openedKeyOf(key)))
		if err != nil {
			scanErr = err
			return false
		}
		if has {
			return true
		}
		env, err := protocol.DecodeStored(append([]byte(nil), v...))
		if err != nil {
			scanErr = err
			return false
		}
		out = append(out, env)
		return true
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, fmt.Errorf("unopened sealed envelopes of %s: %w", room, err)
	}
	return out, nil
}
