package relay_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"go.uber.org/goleak"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/relay"
)

// TestMain fails the package if a relay or node leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// send posts n messages from from into room, named prefix-0 and on, and
// returns their texts.
func send(t *testing.T, from *node.Node, room, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		text := fmt.Sprintf("%s-%d", prefix, i)
		if _, _, err := from.Send(context.Background(), room, text, ""); err != nil {
			t.Fatalf("send %s: %v", text, err)
		}
		out = append(out, text)
	}
	return out
}

// Two nodes that know only a relay find each other through its directory,
// connect through it (not limited, so gossip and sync run peer to peer
// over the circuit) and chat. On loopback nothing is public, so hole
// punching never starts and the link stays relayed.
func TestRelayedChat(t *testing.T) {
	r, reg := startRelay(t, relay.Config{Rooms: []string{"den"}})
	addr := relayAddr(t, r)
	a := startNode(t, "", []string{addr}, "den")
	b := startNode(t, "", []string{addr}, "den")

	waitFor(t, 20*time.Second, "a and b relayed through the relay", func() bool { return relayedVia(a, b, r) })
	if ri := a.Relays(); len(ri) != 1 || !ri[0].Reserved || ri[0].ID != r.ID().String() {
		t.Fatalf("a's relays = %+v, want one reservation with %s", ri, r.ID())
	}
	if !slices.ContainsFunc(a.Peers(), func(pi node.PeerInfo) bool { return pi.ID == r.ID().String() && pi.IsRelay }) {
		t.Errorf("a's peers do not name the relay as a relay: %+v", a.Peers())
	}
	if slices.ContainsFunc(a.Peers(), func(pi node.PeerInfo) bool { return pi.ID == b.ID().String() && (pi.IsRelay || pi.Limited) }) {
		t.Errorf("a's peers call b a relay or its link limited: %+v", a.Peers())
	}
	if !slices.ContainsFunc(a.Host().Addrs(), func(m ma.Multiaddr) bool {
		return strings.Contains(m.String(), r.ID().String()+"/p2p-circuit")
	}) {
		t.Errorf("a does not advertise a relayed address: %v", a.Host().Addrs())
	}

	fromA := send(t, a, "den", "a", 20)
	fromB := send(t, b, "den", "b", 20)
	waitFor(t, 20*time.Second, "all messages delivered both ways", func() bool {
		return hasAll(texts(t, b, "den", a.ID()), fromA) && hasAll(texts(t, a, "den", b.ID()), fromB)
	})
	if kind, _ := link(a, b.ID()); kind != node.ConnRelayed {
		t.Errorf("a-b link is %q after chatting, want relayed", kind)
	}

	if got := metric(t, reg, "peerchat_relay_reservations", nil); got != 2 {
		t.Errorf("reservations = %v, want 2", got)
	}
	if got := metric(t, reg, "peerchat_relay_circuits_opened_total", nil); got < 1 {
		t.Errorf("circuits opened = %v, want at least 1", got)
	}
	if got := metric(t, reg, "peerchat_relay_bytes_relayed_total", nil); got <= 0 {
		t.Errorf("bytes relayed = %v, want some", got)
	}
	if got := metric(t, reg, "peerchat_relay_messages_forwarded_total", nil); got <= 0 {
		t.Errorf("messages forwarded = %v, want some", got)
	}
	if got := metric(t, reg, "peerchat_relay_peers", nil); got < 2 {
		t.Errorf("peers = %v, want at least 2", got)
	}
}

// When the relay carrying a link goes away, the nodes reconnect (through
// the other configured relay; on loopback a direct dial may win, which the
// NAT lab rules out) and what was sent meanwhile arrives.
func TestRelayFailover(t *testing.T) {
	r1, _ := startRelay(t, relay.Config{Rooms: []string{"den"}})
	r2, _ := startRelay(t, relay.Config{Rooms: []string{"den"}})
	relays := []string{relayAddr(t, r1), relayAddr(t, r2)}
	a := startNode(t, "", relays, "den")
	b := startNode(t, "", relays, "den")

	var used, other *relay.Relay
	waitFor(t, 20*time.Second, "a and b relayed", func() bool {
		switch {
		case relayedVia(a, b, r1):
			used, other = r1, r2
		case relayedVia(a, b, r2):
			used, other = r2, r1
		}
		return used != nil
	})
	waitFor(t, 20*time.Second, "both nodes reserved with both relays", func() bool {
		for _, n := range []*node.Node{a, b} {
			for _, ri := range n.Relays() {
				if !ri.Reserved {
					return false
				}
			}
		}
		return true
	})

	start := time.Now()
	used.Close()
	fromA := send(t, a, "den", "a", 10)
	fromB := send(t, b, "den", "b", 10)
	waitFor(t, 30*time.Second, "a and b connected again, not through the closed relay", func() bool {
		kind, via := link(a, b.ID())
		return kind == node.ConnDirect || (kind == node.ConnRelayed && via == other.ID().String())
	})
	waitFor(t, 30*time.Second, "messages sent during the move delivered", func() bool {
		return hasAll(texts(t, b, "den", a.ID()), fromA) && hasAll(texts(t, a, "den", b.ID()), fromB)
	})
	kind, _ := link(a, b.ID())
	t.Logf("chat resumed (%s) %v after the relay closed", kind, time.Since(start).Round(time.Millisecond))
	for _, ri := range a.Relays() {
		if ri.ID == used.ID().String() && ri.Reserved {
			t.Errorf("a still counts a reservation with the closed relay: %+v", ri)
		}
	}
}

// An allow-list lets listed peers reserve and refuses the others, counted
// by reason.
func TestAllowList(t *testing.T) {
	dirA := t.TempDir()
	key, err := node.LoadOrCreateIdentity(dirA)
	if err != nil {
		t.Fatal(err)
	}
	idA, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	r, reg := startRelay(t, relay.Config{Allow: []peer.ID{idA}})
	addr := relayAddr(t, r)
	a := startNode(t, dirA, []string{addr})
	b := startNode(t, "", []string{addr})
	if a.ID() != idA {
		t.Fatalf("a started as %s, want the pre-made identity %s", a.ID(), idA)
	}
	waitFor(t, 20*time.Second, "a reserved, b refused", func() bool {
		ra, rb := a.Relays()[0], b.Relays()[0]
		return ra.Reserved && !rb.Reserved && strings.Contains(rb.Error, "PERMISSION_DENIED")
	})
	if got := metric(t, reg, "peerchat_relay_refusals_total", map[string]string{"request": "reservation", "reason": "permission_denied"}); got < 1 {
		t.Errorf("permission_denied refusals = %v, want at least 1", got)
	}
}

// With --all-rooms the relay joins the rooms its peers use.
func TestAllRooms(t *testing.T) {
	r, _ := startRelay(t, relay.Config{AllRooms: true})
	startNode(t, "", []string{relayAddr(t, r)}, "zeta")
	waitFor(t, 20*time.Second, "relay joined zeta", func() bool {
		return slices.ContainsFunc(r.Node().Rooms(), func(ri node.RoomInfo) bool { return ri.Name == "zeta" })
	})
}

// A relay with a duration limit hands out limited connections, which
// gossipsub does not use; chat still flows through the relay's own room
// membership.
func TestLimitedRelayStillCarriesChat(t *testing.T) {
	r, _ := startRelay(t, relay.Config{Rooms: []string{"den"}, Limits: relay.Limits{CircuitDuration: time.Hour}})
	if !r.Limits().Limited() {
		t.Fatal("relay with a duration limit does not report itself limited")
	}
	addr := relayAddr(t, r)
	a := startNode(t, "", []string{addr}, "den")
	b := startNode(t, "", []string{addr}, "den")
	waitFor(t, 20*time.Second, "a and b relayed", func() bool { return relayedVia(a, b, r) })
	fromA := send(t, a, "den", "a", 5)
	waitFor(t, 20*time.Second, "messages delivered through the relay's gossip", func() bool {
		return hasAll(texts(t, b, "den", a.ID()), fromA)
	})
}
