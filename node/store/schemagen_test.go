package store

import (
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/peerchat/peerchat/protocol"
)

// writeV1Folder names a folder to fill with a small store in the format of
// the binary running the test. It was run once at commit ab88710, the last
// commit before the schema was stamped, to make testdata/v1:
//
//	go test ./node/store/ -run TestWriteFolderForUpgradeTests -write-v1-folder=$PWD/node/store/testdata/v1
//
// Run on later code it writes the newer format, so testdata/v1 must not be
// regenerated.
var writeV1Folder = flag.String("write-v1-folder", "", "write a small store to this folder, for the upgrade tests")

// v1Key is the author of testdata/v1's messages: a fixed key, so that the
// upgrade tests can rebuild the envelopes and compare.
func v1Key(t testing.TB) crypto.PrivKey {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "peerchat testdata v1 author key")
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// v1Folder describes what testdata/v1 holds: sent messages with a
// client_msg_id, received ones, a typing event, a joined room and a peer.
const (
	v1Room     = "lobby"
	v1Sent     = 5
	v1Received = 5
	v1Peer     = "12D3KooWtestdatapeer"
)

func TestWriteFolderForUpgradeTests(t *testing.T) {
	if *writeV1Folder == "" {
		t.Skip("only with -write-v1-folder")
	}
	if err := os.RemoveAll(*writeV1Folder); err != nil {
		t.Fatal(err)
	}
	s, err := Open(*writeV1Folder, Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := v1Key(t)
	if err := s.SetJoined(ctx, v1Room, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePeer(ctx, v1Peer, []string{"/ip4/127.0.0.1/tcp/4001"}); err != nil {
		t.Fatal(err)
	}
	for i := range v1Sent {
		env, msg := newMessage(t, k, v1Room, uint64(i+1), fmt.Sprintf("sent %d", i), fmt.Sprintf("cid-%d", i))
		if _, err := s.AddMessage(ctx, env, msg); err != nil {
			t.Fatal(err)
		}
	}
	for i := range v1Received {
		env, msg := newMessage(t, k, v1Room, uint64(v1Sent+i+1), fmt.Sprintf("received %d", i), "")
		if err := s.AddMessageAsync(ctx, env, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendEvents(ctx, false, protocol.Event{Type: protocol.EventTyping, Room: v1Room}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
