// Package metrics holds the node's Prometheus series, registered on the
// registry the embedding program gives (never the global one).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/store"
)

// Metrics are the node's counters. Each role is handed the one it
// updates.
type Metrics struct {
	// Rejected counts envelopes from peers refused, by reason.
	Rejected *prometheus.CounterVec
	// Received counts valid envelopes from peers, duplicates included.
	Received prometheus.Counter
	// Sent counts messages sent by the node's user.
	Sent prometheus.Counter
}

// New creates the node's series and registers them on reg, when not nil,
// together with the store's gauges, read from st when scraped.
func New(reg prometheus.Registerer, st *store.Store) *Metrics {
	m := &Metrics{
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerchat_envelopes_rejected_total",
			Help: "Envelopes from peers that failed validation, by reason.",
		}, []string{"reason"}),
		Received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_messages_received_total",
			Help: "Valid envelopes received from peers, duplicates included.",
		}),
		Sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_messages_sent_total",
			Help: "Messages sent by this node's user.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Rejected, m.Received, m.Sent, newStoreCollector(st))
	}
	return m
}

// Reject counts an envelope refused for reason.
func (m *Metrics) Reject(reason string) { m.Rejected.WithLabelValues(reason).Inc() }
