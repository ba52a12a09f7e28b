package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/store"
)

// metrics are the node's Prometheus series, registered on the registry
// given in Config (never the global one).
type metrics struct {
	rejected *prometheus.CounterVec
	received prometheus.Counter
	sent     prometheus.Counter
}

// newMetrics creates the node's series and registers them on reg, together
// with the store's gauges, read from st when scraped.
func newMetrics(reg prometheus.Registerer, st *store.Store) *metrics {
	m := &metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerchat_envelopes_rejected_total",
			Help: "Envelopes from peers that failed validation, by reason.",
		}, []string{"reason"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_messages_received_total",
			Help: "Valid envelopes received from peers, duplicates included.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_messages_sent_total",
			Help: "Messages sent by this node's user.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.rejected, m.received, m.sent, newStoreCollector(st))
	}
	return m
}
