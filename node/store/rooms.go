package store

import (
	"context"
	"encoding/json"
	"fmt"

	ds "github.com/ipfs/go-datastore"
)

// SetJoined records whether the node is in room, so that a restarted node
// rejoins the same rooms.
func (s *Store) SetJoined(ctx context.Context, room string, joined bool) error {
	return s.put(ctx, func(b ds.Batch) error {
		if joined {
			return b.Put(ctx, ds.NewKey(prefixRooms+room), []byte{1})
		}
		return b.Delete(ctx, ds.NewKey(prefixRooms+room))
	})
}

// JoinedRooms lists the rooms recorded as joined, in name order.
func (s *Store) JoinedRooms(ctx context.Context) ([]string, error) {
	var rooms []string
	err := s.scan(prefixRooms, prefixEnd(prefixRooms), false, func(key string, _ []byte) bool {
		rooms = append(rooms, key[len(prefixRooms):])
		return true
	})
	return rooms, err
}

// SavePeer records the addresses a peer was last reached at.
func (s *Store) SavePeer(ctx context.Context, peerID string, addrs []string) error {
	v, err := json.Marshal(addrs)
	if err != nil {
		return fmt.Errorf("encode peer addresses: %w", err)
	}
	return s.put(ctx, func(b ds.Batch) error {
		return b.Put(ctx, ds.NewKey(prefixPeers+peerID), v)
	})
}

// KnownPeers returns every saved peer with its addresses.
func (s *Store) KnownPeers(ctx context.Context) (map[string][]string, error) {
	peers := map[string][]string{}
	err := s.scan(prefixPeers, prefixEnd(prefixPeers), false, func(key string, v []byte) bool {
		var addrs []string
		if json.Unmarshal(v, &addrs) == nil {
			peers[key[len(prefixPeers):]] = addrs
		}
		return true
	})
	return peers, err
}
