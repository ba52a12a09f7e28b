package store

import (
	"context"
	"fmt"
	"strings"
)

// More of the key layout (see keys.go), for private rooms:
//
//	/pv/<room>/<name>   a value of the private role (node/internal/private)
//
// The private role keeps a member's key state here: its KEM keys, the
// epoch envelopes of the room and the secrets of the epochs it held, its
// invites and pending join requests. Names are the role's own (lower-case
// words, '/' and hex); the store only keeps them together per room and
// writes each durably, since a secret lost after its epoch was published
// leaves the owner unable to read its own room.
const prefixPrivate = "/pv/"

// PrivateValue is one value of the private role.
type PrivateValue struct {
	Name  string
	Value []byte
}

// PutPrivate stores value under name for room and waits for the disk.
func (s *Store) PutPrivate(ctx context.Context, room, name string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return s.write(ctx, true, []kv{{privateKey(room, name), value}})
}

// DeletePrivate deletes name of room and waits for the disk.
func (s *Store) DeletePrivate(ctx context.Context, room, name string) error {
	return s.write(ctx, true, []kv{{privateKey(room, name), nil}})
}

// PrivateValues returns room's values whose names start with prefix, in
// name order.
func (s *Store) PrivateValues(ctx context.Context, room, prefix string) ([]PrivateValue, error) {
	base := prefixPrivate + room + "/"
	var out []PrivateValue
	err := s.scan(base+prefix, base+prefix+"\xff", false, func(key string, v []byte) bool {
		out = append(out, PrivateValue{Name: key[len(base):], Value: append([]byte(nil), v...)})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("private values of %s: %w", room, err)
	}
	return out, nil
}

// PrivateRooms lists the rooms that have private values, in name order.
func (s *Store) PrivateRooms(ctx context.Context) ([]string, error) {
	var rooms []string
	err := s.scan(prefixPrivate, prefixEnd(prefixPrivate), false, func(key string, _ []byte) bool {
		room, _, _ := strings.Cut(key[len(prefixPrivate):], "/")
		if len(rooms) == 0 || rooms[len(rooms)-1] != room {
			rooms = append(rooms, room)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("private rooms: %w", err)
	}
	return rooms, nil
}

func privateKey(room, name string) string { return prefixPrivate + room + "/" + name }
