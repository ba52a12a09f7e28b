package peering

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Each kind of failure seen in the NAT lab and with stock relays gets its
// words, whether it comes as a wrapped error or as text.
func TestCauseSaysInWords(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("all dials failed: * [/ip4/198.18.77.3/tcp/4001] dial tcp: %w", syscall.ECONNREFUSED), "the remote's router answered with a reset"},
		{errors.New("failed to dial: dial tcp4 198.18.77.3:4001: connect: connection refused"), "the remote's router answered with a reset"},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), "reset by the remote"},
		{fmt.Errorf("dial udp: %w", syscall.EHOSTUNREACH), "no route"},
		{errors.New("sendto: network is unreachable"), "no route"},
		{fmt.Errorf("dial backoff: %w", context.DeadlineExceeded), "timed out"},
		{errors.New("timeout: no recent network activity"), "timed out"},
		{errors.New("error opening relay circuit: NO_RESERVATION (204)"), "no reservation"},
		{errors.New("reservation error: status: RESERVATION_REFUSED"), "relay is full"},
		{errors.New("peer id mismatch: expected 12D3KooA, but remote key matches 12D3KooB"), "another peer answered"},
		{errors.New("no addresses"), "no known address"},
		{errors.New("something else"), "failed"},
	} {
		if got := Cause(c.err); !strings.Contains(got, c.want) {
			t.Errorf("Cause(%q) = %q, want it to say %q", c.err, got, c.want)
		}
		if got := CauseText(c.err.Error()); !strings.Contains(got, c.want) {
			t.Errorf("CauseText(%q) = %q, want it to say %q", c.err, got, c.want)
		}
	}
	if Cause(nil) != "" {
		t.Errorf("Cause(nil) is not empty")
	}
}

// A cause is first once per peer and kind until a success forgets it.
func TestOnceLogsEachCauseOnce(t *testing.T) {
	var o Once
	p := peer.ID("a")
	if !o.First("dial", p, "timed out") || o.First("dial", p, "timed out") {
		t.Fatal("the same cause was first twice, or never")
	}
	if !o.First("dial", p, "refused") || !o.First("punch", p, "refused") || !o.First("dial", "b", "refused") {
		t.Fatal("a new cause, kind or peer was not first")
	}
	o.Forget("dial", p)
	if !o.First("dial", p, "refused") {
		t.Fatal("a cause after a success was not first")
	}
}

// Transports are named by the link's own transport, or the relay's for a
// relayed address.
func TestTransportOf(t *testing.T) {
	for s, want := range map[string]string{
		"/ip4/127.0.0.1/tcp/4001":                "tcp",
		"/ip4/127.0.0.1/udp/4001/quic-v1":        "quic",
		"/ip6/::1/udp/4001/quic-v1/webtransport": "webtransport",
		"/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit": "quic",
		"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit":         "tcp",
	} {
		if got := TransportOf(ma.StringCast(s)); got != want {
			t.Errorf("TransportOf(%s) = %q, want %q", s, got, want)
		}
	}
}
