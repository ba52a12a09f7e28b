package jepsen

// One node of the run and what the harness asks it over the documented
// API: its peers in the room and its whole history.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// room is the one room every node joins and every client posts to.
const room = "jepsen"

// node keeps fixed ports, so that a restarted node is found where it was,
// and the same data folder across restarts.
type node struct {
	name, dir   string
	api, listen string // host:port of the API; libp2p multiaddr without /p2p
	peerID      string
	token       string
	p           *process // the running process; only Run's goroutine touches it
}

// freePort returns a loopback port no one listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// newNode picks the node's ports; it does not start it.
func newNode(name, dir string) (*node, error) {
	api, err := freePort()
	if err != nil {
		return nil, err
	}
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	return &node{name: name, dir: dir, api: fmt.Sprintf("127.0.0.1:%d", api), listen: fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", listen)}, nil
}

// start runs the node and waits until its API answers; it dials the other
// nodes whose peer ID is known. A restarted node must come back with the
// identity and token it had, or the clients and readers would talk to a
// stranger.
func (n *node) start(ctx context.Context, binary string, peers []*node) error {
	args := []string{"--data", n.dir, "--api", n.api, "--listen", n.listen, "--no-mdns", "--name", n.name, "--join", room}
	for _, o := range peers {
		if o != n && o.peerID != "" {
			args = append(args, "--bootstrap", o.listen+"/p2p/"+o.peerID)
		}
	}
	p, err := startProcess(ctx, n.name, binary, args, n.dir)
	if err != nil {
		return err
	}
	n.p = p
	if n.peerID == "" {
		// Set once, before the readers and clients start.
		n.peerID, n.token = p.peerID, p.token
	} else if p.peerID != n.peerID || p.token != n.token {
		return fmt.Errorf("%s came back as peer %s with another token; it was %s", n.name, p.peerID, n.peerID)
	}
	return nil
}

// get sends one authorised GET to the node's API and decodes the answer.
func (n *node) get(ctx context.Context, client *http.Client, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w", n.name, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w", n.name, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: GET %s: %s: %s", n.name, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: GET %s: decode: %w", n.name, path, err)
	}
	return nil
}

// roomPeers returns how many peers n sees in the room, or 0 if it cannot
// tell yet.
func (n *node) roomPeers(ctx context.Context, client *http.Client) int {
	var out struct {
		Rooms []struct {
			Room  string `json:"room"`
			Peers int    `json:"peers"`
		} `json:"rooms"`
	}
	if n.get(ctx, client, "/v1/rooms", &out) != nil {
		return 0
	}
	for _, r := range out.Rooms {
		if r.Room == room {
			return r.Peers
		}
	}
	return 0
}

// message is a message as the API returns it.
type message struct {
	ID          string `json:"id"`
	Text        string `json:"text"`
	ClientMsgID string `json:"client_msg_id"`
}

// history returns the room's whole history on n, oldest first, following
// the pages back to the start.
func (n *node) history(ctx context.Context, client *http.Client) ([]message, error) {
	var all []message
	before := ""
	for page := 0; ; page++ {
		if page > 1000 {
			return nil, fmt.Errorf("%s: the history of %s does not end", n.name, room)
		}
		path := "/v1/rooms/" + room + "/messages?limit=500"
		if before != "" {
			path += "&before=" + before
		}
		var resp struct {
			Messages []message `json:"messages"`
			More     bool      `json:"more"`
		}
		if err := n.get(ctx, client, path, &resp); err != nil {
			return nil, err
		}
		all = append(resp.Messages, all...)
		if !resp.More || len(resp.Messages) == 0 {
			return all, nil
		}
		before = resp.Messages[0].ID
	}
}
