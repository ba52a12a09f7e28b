package relay

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/gossip"
	peerchat "github.com/peerchat/peerchat/protocol"
)

// metrics are the relay's Prometheus series. They implement libp2p's relay
// MetricsTracer (reservations, circuits, bytes, refusals) and gossipsub's
// RawTracer (messages forwarded, rooms peers announce), and are registered
// on the registry given in Config, never the global one.
type metrics struct {
	// NopTracer fills in the gossipsub tracer methods the relay does not
	// count.
	gossip.NopTracer

	reservations        prometheus.Gauge
	reservationRequests *prometheus.CounterVec
	circuits            prometheus.Gauge
	circuitsOpened      prometheus.Counter
	circuitDuration     prometheus.Histogram
	bytesRelayed        prometheus.Counter
	refusals            *prometheus.CounterVec
	forwarded           prometheus.Counter

	// rooms receives the rooms peers subscribe to, for --all-rooms.
	rooms func(room string)

	mu  sync.Mutex
	own map[string]struct{} // IDs of messages this relay published itself
	ids []string            // own, oldest first, to bound it
}

const maxOwnIDs = 1024

func newMetrics() *metrics {
	return &metrics{
		reservations: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "peerchat_relay_reservations",
			Help: "Active relay reservations (peers reachable through this relay).",
		}),
		reservationRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerchat_relay_reservation_requests_total",
			Help: "Reservation requests, by kind: new, renewal, or refused.",
		}, []string{"kind"}),
		circuits: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "peerchat_relay_circuits",
			Help: "Relayed connections open now.",
		}),
		circuitsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_relay_circuits_opened_total",
			Help: "Relayed connections opened.",
		}),
		circuitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "peerchat_relay_circuit_duration_seconds",
			Help:    "How long relayed connections lasted.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10), // 1 s to about 3 days
		}),
		bytesRelayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_relay_bytes_relayed_total",
			Help: "Bytes copied between the two ends of relayed connections, both directions.",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerchat_relay_refusals_total",
			Help: "Refused relay requests, by request (reservation or circuit) and reason.",
		}, []string{"request", "reason"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_relay_messages_forwarded_total",
			Help: "Copies of other peers' gossip messages this relay sent on to its peers.",
		}),
		own: map[string]struct{}{},
	}
}

func (m *metrics) register(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	reg.MustRegister(m.reservations, m.reservationRequests, m.circuits, m.circuitsOpened,
		m.circuitDuration, m.bytesRelayed, m.refusals, m.forwarded)
}

// statusReason names a relay status in a metric label.
func statusReason(s pbv2.Status) string {
	return strings.ToLower(s.String())
}

// libp2p relay MetricsTracer.

func (m *metrics) RelayStatus(bool)       {}
func (m *metrics) ConnectionOpened()      { m.circuits.Inc(); m.circuitsOpened.Inc() }
func (m *metrics) BytesTransferred(n int) { m.bytesRelayed.Add(float64(n)) }

func (m *metrics) ConnectionClosed(d time.Duration) {
	m.circuits.Dec()
	m.circuitDuration.Observe(d.Seconds())
}

func (m *metrics) ConnectionRequestHandled(s pbv2.Status) {
	if s != pbv2.Status_OK {
		m.refusals.WithLabelValues("circuit", statusReason(s)).Inc()
	}
}

func (m *metrics) ReservationAllowed(renewal bool) {
	if renewal {
		m.reservationRequests.WithLabelValues("renewal").Inc()
		return
	}
	m.reservationRequests.WithLabelValues("new").Inc()
	m.reservations.Inc()
}

func (m *metrics) ReservationClosed(n int) { m.reservations.Sub(float64(n)) }

func (m *metrics) ReservationRequestHandled(s pbv2.Status) {
	if s != pbv2.Status_OK {
		m.reservationRequests.WithLabelValues("refused").Inc()
		m.refusals.WithLabelValues("reservation", statusReason(s)).Inc()
	}
}

// gossipsub RawTracer. Tracers run synchronously in gossipsub's event
// loop, so these only count and hand rooms off.

// DeliverMessage remembers the IDs of the relay's own messages (presence
// signals), so that SendRPC counts only what it forwards for others.
func (m *metrics) DeliverMessage(msg *pubsub.Message) {
	if !msg.Local {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.own[msg.ID] = struct{}{}
	m.ids = append(m.ids, msg.ID)
	if len(m.ids) > maxOwnIDs {
		delete(m.own, m.ids[0])
		m.ids = m.ids[1:]
	}
}

// SendRPC counts forwarded message copies. The ID is the SHA-256 of the
// data, as the node's gossipsub message ID function defines it.
func (m *metrics) SendRPC(rpc *pubsub.RPC, _ peer.ID) {
	msgs := rpc.GetPublish()
	if len(msgs) == 0 {
		return
	}
	n := 0
	m.mu.Lock()
	for _, pm := range msgs {
		sum := sha256.Sum256(pm.GetData())
		if _, mine := m.own[string(sum[:])]; !mine {
			n++
		}
	}
	m.mu.Unlock()
	m.forwarded.Add(float64(n))
}

// RecvRPC passes on the rooms peers subscribe to.
func (m *metrics) RecvRPC(rpc *pubsub.RPC) {
	if m.rooms == nil {
		return
	}
	prefix := peerchat.Topic("")
	for _, sub := range rpc.GetSubscriptions() {
		if room, ok := strings.CutPrefix(sub.GetTopicid(), prefix); ok && sub.GetSubscribe() {
			m.rooms(room)
		}
	}
}
