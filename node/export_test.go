package node

import (
	"context"
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	libp2pprotocol "github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/intake"
	"github.com/peerchat/peerchat/node/internal/retention"
	"github.com/peerchat/peerchat/node/internal/signals"
	"github.com/peerchat/peerchat/node/store"
)

// The seams end-to-end tests reach through. Each names the role it
// exposes; none is a field a test writes.

// storeOf is n's store, for tests that plant or inspect history.
func storeOf(n *Node) *store.Store { return n.store }

// signalsOf is n's live signals.
func signalsOf(n *Node) *signals.Signals { return n.signals }

// intakeOf is n's path for envelopes from peers.
func intakeOf(n *Node) *intake.Intake { return n.intake }

// wantPeer makes n dial ai at once and keep it connected.
func wantPeer(n *Node, ai peer.AddrInfo) { n.peering.Dialer().Want(ai, 0) }

// cutOff reports whether n punishes p for flooding.
func cutOff(n *Node, p peer.ID) bool { return n.syncer.CutOff(p) }

// syncWith runs one sync of room with p, n initiating.
func syncWith(ctx context.Context, n *Node, room string, p peer.ID) error {
	return n.syncer.SyncWith(ctx, room, p)
}

// rejected reads peerchat_envelopes_rejected_total{reason} from n's
// registry, which testNode always sets.
func rejected(t testing.TB, n *Node, reason string) float64 {
	t.Helper()
	families, err := n.cfg.Registry.(prometheus.Gatherer).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "peerchat_envelopes_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// bareHost is a libp2p host with peerchat's transports and nothing of a
// node, for tests that play a hostile peer.
func bareHost(key crypto.PrivKey, listen []string) (host.Host, error) {
	return newHost(key, Config{ListenAddrs: listen}, func(a []ma.Multiaddr) []ma.Multiaddr { return a }, abuse.NewGater())
}

// retentionOf is n's retention rule and horizons.
func retentionOf(n *Node) *retention.Keeper { return n.retention }

// syncProtocolsOf lists the sync protocols n speaks, preferred first.
func syncProtocolsOf(n *Node) []libp2pprotocol.ID { return n.syncer.Protocols() }

// dropTracerOf is the gossipsub tracer n's syncer listens to.
func dropTracerOf(n *Node) pubsub.RawTracer { return n.syncer.DropTracer() }

// lockSyncer holds n's syncer's lock until the returned func is called.
func lockSyncer(n *Node) (unlock func()) { return n.syncer.LockForTest() }
