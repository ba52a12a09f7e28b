package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// DHTProtocolPrefix is the prefix of peerchat's private Kademlia DHT: its
// protocol is DHTProtocolPrefix+"/kad/1.0.0". It is not the IPFS DHT's
// "/ipfs", so peerchat never joins, answers or fills the public DHT, and
// IPFS nodes never find a peerchat record.
const DHTProtocolPrefix = "/peerchat"

// roomDiscoveryPrefix starts every room's key in the DHT; roomDiscoveryTag
// is hashed in front of the topic so that the key of a room is peerchat's
// alone, and a new version can run beside this one.
const (
	roomDiscoveryPrefix = "peerchat/room/"
	roomDiscoveryTag    = "peerchat/room-discovery/v1\x00"
)

// RoomDiscoveryKey is the key under which a room's members advertise
// themselves in the DHT: "peerchat/room/" and the first 32 hex digits
// (128 bits) of SHA-256("peerchat/room-discovery/v1\0" + Topic(room)).
// The DHT stores and lists only keys, so it never learns or shows a room's
// name; anyone who knows or guesses the name can still compute the key,
// as anyone could join the room's topic.
func RoomDiscoveryKey(room string) string {
	sum := sha256.Sum256([]byte(roomDiscoveryTag + Topic(room)))
	return roomDiscoveryPrefix + hex.EncodeToString(sum[:])[:32]
}

// RoomDiscoveryCID is RoomDiscoveryKey as the content ID a DHT provider
// record is filed under: a CIDv1 (raw) whose multihash is the identity
// multihash of the key's bytes, so the record key on the wire is the key
// itself (48 bytes, well under the DHT's 80) and a reader of any
// server's records can check that it holds nothing but such keys.
func RoomDiscoveryCID(room string) (cid.Cid, error) {
	mh, err := multihash.Sum([]byte(RoomDiscoveryKey(room)), multihash.IDENTITY, -1)
	if err != nil {
		return cid.Undef, fmt.Errorf("room discovery key: %w", err)
	}
	return cid.NewCidV1(cid.Raw, mh), nil
}
