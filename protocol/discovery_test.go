package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/multiformats/go-multihash"
)

// The key is pinned: another implementation, or a later version of ours,
// must derive the same bytes from a room name to meet its members.
func TestRoomDiscoveryKeyIsAPinnedHashOfTheTopic(t *testing.T) {
	sum := sha256.Sum256([]byte("peerchat/room-discovery/v1\x00/peerchat/1/room/bars"))
	want := "peerchat/room/" + hex.EncodeToString(sum[:16])
	if got := RoomDiscoveryKey("bars"); got != want {
		t.Fatalf("RoomDiscoveryKey(bars) = %q, want %q", got, want)
	}
	if strings.Contains(RoomDiscoveryKey("bars"), "bars") || RoomDiscoveryKey("bars") == RoomDiscoveryKey("Bars") {
		t.Error("the key shows the room name or folds case")
	}
	c, err := RoomDiscoveryCID("bars")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := multihash.Decode(c.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if dec.Code != multihash.IDENTITY || string(dec.Digest) != want || len(c.Hash()) > 80 {
		t.Errorf("CID multihash code %#x, digest %q, %d bytes; want identity of %q within the DHT's 80", dec.Code, dec.Digest, len(c.Hash()), want)
	}
}
