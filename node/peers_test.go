package node

import (
	"strings"
	"testing"
	"time"
)

// GET /v1/peers says which transport a direct link travels on, and that
// it is not limited.
func TestPeersSayTransport(t *testing.T) {
	a := testNode(t, "")
	var quic string
	for _, m := range a.Addrs() {
		if strings.Contains(m.String(), "/quic-v1/") {
			quic = m.String()
		}
	}
	if quic == "" {
		t.Fatalf("a has no QUIC address: %v", a.Addrs())
	}
	b := testNode(t, "", func(c *Config) { c.Bootstrap = []string{quic} })
	var got PeerInfo
	waitFor(t, 10*time.Second, "b connected to a", func() bool {
		for _, pi := range b.Peers() {
			if pi.ID == a.ID().String() {
				got = pi
				return true
			}
		}
		return false
	})
	if got.Connection != ConnDirect || got.Transport != "quic" || got.Limited || got.Relay != "" ||
		len(got.Links) == 0 || got.Links[0].Transport != "quic" || got.Links[0].Direction != "outbound" {
		t.Errorf("b's link to a = %+v, want a direct, unlimited QUIC link dialled by b", got)
	}
}
