package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func testPeerID(t testing.TB) peer.ID {
	t.Helper()
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func encodeJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestADirectoryRequestKeepsValidRoomsOnceAndAtMostTheBound(t *testing.T) {
	rooms := []string{"lobby", "lobby", "Not A Room!", "dev"}
	for i := range 2 * MaxDirectoryRooms {
		rooms = append(rooms, fmt.Sprint("r", i))
	}
	got, err := ReadDirectoryRequest(bytes.NewReader(encodeJSON(t, DirectoryRequest{Rooms: rooms})))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxDirectoryRooms || got[0] != "lobby" || got[1] != "dev" || got[2] != "r0" {
		t.Fatalf("kept %d rooms starting %v", len(got), got[:3])
	}
	if _, err := ReadDirectoryRequest(strings.NewReader(`{"rooms":`)); err == nil {
		t.Fatal("a cut-off request was accepted")
	}
}

// TestAHostileRelaysAnswerCannotMakeANodeDialStrangersByTheThousand: an
// answer naming rooms nobody asked about, thousands of peers, peers twice,
// bad IDs and too many addresses is cut to what the node asked for, within
// the bounds.
func TestAHostileRelaysAnswerCannotMakeANodeDialStrangersByTheThousand(t *testing.T) {
	var many []DirectoryPeer
	for range 3 * MaxDirectoryPeers {
		p := DirectoryPeer{ID: testPeerID(t).String()}
		for i := range 3 * MaxDirectoryAddrs {
			p.Addrs = append(p.Addrs, fmt.Sprintf("/ip4/203.0.113.%d/tcp/4001", i+1), "not an address")
		}
		many = append(many, p)
	}
	twice := testPeerID(t).String()
	resp := DirectoryResponse{Rooms: map[string][]DirectoryPeer{
		"lobby":     append([]DirectoryPeer{{ID: "bad id"}, {ID: twice}}, many...),
		"dev":       {{ID: twice}},
		"not-asked": many,
	}}
	got, err := ReadDirectoryResponse(bytes.NewReader(encodeJSON(t, resp)), []string{"lobby", "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxDirectoryPeers {
		t.Fatalf("kept %d peers, want %d: one room's bound, the repeat and the other rooms dropped", len(got), MaxDirectoryPeers)
	}
	if got[0].ID.String() != twice || got[0].Room != "lobby" {
		t.Fatalf("first entry %+v, want the peer named in both rooms under lobby", got[0])
	}
	for _, e := range got[1:] {
		if e.Room != "lobby" || len(e.Addrs) != MaxDirectoryAddrs {
			t.Fatalf("entry in %s with %d addresses", e.Room, len(e.Addrs))
		}
	}
}

// FuzzReadDirectoryRequest feeds arbitrary bytes to the relay's reading of
// a directory request: no panic, and what it keeps is within bounds.
func FuzzReadDirectoryRequest(f *testing.F) {
	f.Add([]byte(`{"rooms":["lobby","dev"]}`))
	f.Add([]byte(`{"rooms":["lobby","lobby","Bad Name"]}`))
	f.Add([]byte(`{"rooms":null}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"rooms":["` + strings.Repeat("a", 300) + `"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rooms, err := ReadDirectoryRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(rooms) > MaxDirectoryRooms {
			t.Fatalf("kept %d rooms", len(rooms))
		}
		for _, r := range rooms {
			if ValidateRoomName(r) != nil {
				t.Fatalf("kept invalid room %q", r)
			}
		}
	})
}

// FuzzReadDirectoryResponse feeds arbitrary bytes to a node's reading of a
// relay's answer: no panic, and what it keeps is within bounds, in rooms it
// asked about, each peer once.
func FuzzReadDirectoryResponse(f *testing.F) {
	id := testPeerID(f).String()
	f.Add([]byte(`{"rooms":{"lobby":[{"id":"` + id + `","addrs":["/ip4/203.0.113.1/tcp/4001","/ip4/203.0.113.1/udp/4001/quic-v1"]}]}}`))
	f.Add([]byte(`{"rooms":{"lobby":[{"id":"` + id + `"}],"dev":[{"id":"` + id + `"}]}}`))
	f.Add([]byte(`{"rooms":{"other":[{"id":"` + id + `"}]}}`))
	f.Add([]byte(`{"rooms":{"lobby":[{"id":"x","addrs":["/ip4/1.2.3.4"]}]}}`))
	f.Add([]byte(`{"rooms":{}}`))
	f.Add([]byte(`{`))
	asked := []string{"lobby", "dev"}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ReadDirectoryResponse(bytes.NewReader(data), asked)
		if err != nil {
			return
		}
		perRoom := map[string]int{}
		seen := map[peer.ID]bool{}
		for _, e := range entries {
			if e.Room != "lobby" && e.Room != "dev" {
				t.Fatalf("kept a peer in %q, which was not asked about", e.Room)
			}
			if perRoom[e.Room]++; perRoom[e.Room] > MaxDirectoryPeers {
				t.Fatalf("kept more than %d peers in %s", MaxDirectoryPeers, e.Room)
			}
			if seen[e.ID] {
				t.Fatalf("kept %s twice", e.ID)
			}
			seen[e.ID] = true
			if len(e.Addrs) > MaxDirectoryAddrs {
				t.Fatalf("kept %d addresses", len(e.Addrs))
			}
		}
	})
}
