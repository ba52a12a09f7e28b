package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
)

// A node reserved on a stock go-libp2p relay (default limits, nothing of
// peerchat in it) prints the relayed address to share and lists it in
// GET /v1/node; another node started with that address as --bootstrap
// reaches it and they chat.
func TestShareAddrAndRelayedBootstrap(t *testing.T) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := relayv2.New(h)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); h.Close() })
	relay := fmt.Sprintf("%s/p2p/%s", h.Addrs()[0], h.ID())

	bob := startLocalNode(t, "bob", t.TempDir(), "--relay", relay, "--join", "den")
	line := bob.waitLine("share this address: ", 30*time.Second)
	share := strings.TrimSpace(strings.TrimPrefix(line, "share this address: "))
	if want := relay + "/p2p-circuit/p2p/" + bob.peerID; share != want {
		t.Fatalf("bob shares %q, want %q", share, want)
	}
	var info struct {
		RelayedAddrs []string `json:"relayed_addrs"`
		ShareAddr    string   `json:"share_addr"`
	}
	bob.call("GET", "/v1/node", nil, &info, http.StatusOK)
	if !slices.Contains(info.RelayedAddrs, share) || info.ShareAddr != share {
		t.Errorf("GET /v1/node = %+v, want %s listed and shared", info, share)
	}

	alice := startLocalNode(t, "alice", t.TempDir(), "--bootstrap", share, "--join", "den")
	eventually(t, 30*time.Second, 50*time.Millisecond, func() string {
		var rooms struct {
			Rooms []struct {
				Room  string `json:"room"`
				Peers int    `json:"peers"`
			} `json:"rooms"`
		}
		alice.call("GET", "/v1/rooms", nil, &rooms, http.StatusOK)
		if len(rooms.Rooms) != 1 || rooms.Rooms[0].Peers != 1 {
			return fmt.Sprintf("alice's rooms: %+v", rooms.Rooms)
		}
		return ""
	})
	alice.call("POST", "/v1/rooms/den/messages", map[string]string{"text": "hi bob"}, nil, http.StatusCreated)
	eventually(t, 30*time.Second, 50*time.Millisecond, func() string {
		var page struct {
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		}
		bob.call("GET", "/v1/rooms/den/messages", nil, &page, http.StatusOK)
		for _, m := range page.Messages {
			if m.Text == "hi bob" {
				return ""
			}
		}
		return fmt.Sprintf("bob's messages: %+v", page.Messages)
	})
}

// A relayed --bootstrap address that names no relay, or the peer itself
// as its relay, is refused at start with an error that says what it must
// look like.
func TestMalformedRelayedBootstrapIsAClearError(t *testing.T) {
	const peerID = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
	for _, addr := range []string{
		"/ip4/127.0.0.1/tcp/4001/p2p-circuit/p2p/" + peerID,
		"/ip4/127.0.0.1/tcp/4001/p2p/" + peerID + "/p2p-circuit/p2p/" + peerID,
		"/ip4/127.0.0.1/tcp/4001/p2p-circuit",
	} {
		dir := t.TempDir()
		p := launch(t, procSpec{name: "bad", dataDir: dir, args: []string{
			"--data", dir, "--api", freeAPIAddr(t), "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--bootstrap", addr,
		}})
		if code := p.waitExit(exitTimeout); code == 0 {
			t.Fatalf("a node with --bootstrap %s exited 0", addr)
		}
		if stderr := p.stderr.String(); !strings.Contains(stderr, "bootstrap address") || !strings.Contains(stderr, "p2p-circuit/p2p/PEER") {
			t.Errorf("--bootstrap %s: stderr does not say what a relayed address looks like:\n%s", addr, stderr)
		}
	}
}
