package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// RelayDirectoryProtocol is how a node asks a relay which peers it sees in
// the node's rooms. The exchange is one JSON request and one JSON answer on
// a fresh stream: {"rooms":["lobby"]} and {"rooms":{"lobby":[{"id":...,
// "addrs":[...]}]}}.
const RelayDirectoryProtocol = "/peerchat/relay-directory/1.0.0"

// Bounds of the relay directory exchange. Both sides enforce them on what
// they read, so neither a hostile asker nor a hostile relay can make the
// other hold or dial more than this.
const (
	MaxDirectoryRequestBytes  = 16 << 10
	MaxDirectoryResponseBytes = 1 << 20
	MaxDirectoryRooms         = 64 // per request
	MaxDirectoryPeers         = 64 // per room in an answer
	MaxDirectoryAddrs         = 8  // per peer in an answer
)

// ErrDirectory is returned for a directory request or answer that is not
// well-formed JSON of the expected shape within its size bound.
var ErrDirectory = errors.New("bad relay directory message")

// DirectoryRequest asks a relay for the peers of some rooms.
type DirectoryRequest struct {
	Rooms []string `json:"rooms"`
}

// DirectoryPeer is one peer in a relay's answer, as sent.
type DirectoryPeer struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs,omitempty"`
}

// DirectoryResponse is a relay's answer: the peers it sees in each room
// asked about.
type DirectoryResponse struct {
	Rooms map[string][]DirectoryPeer `json:"rooms"`
}

// DirectoryEntry is one peer of a relay's answer, parsed and checked.
type DirectoryEntry struct {
	Room  string
	ID    peer.ID
	Addrs []ma.Multiaddr
}

// ReadDirectoryRequest reads a request of at most MaxDirectoryRequestBytes
// and returns the valid room names in it, without repeats, at most
// MaxDirectoryRooms of them.
func ReadDirectoryRequest(r io.Reader) ([]string, error) {
	var req DirectoryRequest
	if err := json.NewDecoder(io.LimitReader(r, MaxDirectoryRequestBytes)).Decode(&req); err != nil {
		return nil, fmt.Errorf("%w: request: %w", ErrDirectory, err)
	}
	var rooms []string
	for _, room := range req.Rooms {
		if len(rooms) == MaxDirectoryRooms {
			break
		}
		if ValidateRoomName(room) == nil && !slices.Contains(rooms, room) {
			rooms = append(rooms, room)
		}
	}
	return rooms, nil
}

// ReadDirectoryResponse reads a relay's answer of at most
// MaxDirectoryResponseBytes to a request for asked. It keeps only rooms
// that were asked about, the first MaxDirectoryPeers peers of each whose
// ID parses, and the first MaxDirectoryAddrs addresses of each that parse;
// a peer named in several rooms is returned once, under the first. What
// it drops is what a hostile relay could use to make the node dial
// strangers by the thousand.
func ReadDirectoryResponse(r io.Reader, asked []string) ([]DirectoryEntry, error) {
	var resp DirectoryResponse
	if err := json.NewDecoder(io.LimitReader(r, MaxDirectoryResponseBytes)).Decode(&resp); err != nil {
		return nil, fmt.Errorf("%w: answer: %w", ErrDirectory, err)
	}
	var out []DirectoryEntry
	seen := map[peer.ID]bool{}
	for _, room := range asked {
		kept := 0
		for _, dp := range resp.Rooms[room] {
			if kept == MaxDirectoryPeers {
				break
			}
			id, err := peer.Decode(dp.ID)
			if err != nil || seen[id] {
				continue
			}
			seen[id] = true
			kept++
			e := DirectoryEntry{Room: room, ID: id}
			for _, s := range dp.Addrs {
				if len(e.Addrs) == MaxDirectoryAddrs {
					break
				}
				if a, err := ma.NewMultiaddr(s); err == nil {
					e.Addrs = append(e.Addrs, a)
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}
