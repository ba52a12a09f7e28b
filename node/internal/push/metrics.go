package push

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Causes of a circuit's end, as counted and logged.
const (
	CauseRenewed   = "renewed"    // this node closed it, its data budget spent
	CauseTimeLimit = "time_limit" // the relay's time limit ran out
	CauseReset     = "reset"      // the relay or the peer ended it early
)

// pushMetrics are the push role's series, registered on the node's
// registry when there is one.
type pushMetrics struct {
	envelopes    *prometheus.CounterVec // by direction
	dropped      *prometheus.CounterVec // by reason
	circuitBytes prometheus.Counter
	closed       *prometheus.CounterVec // by cause
}

func newMetrics(reg prometheus.Registerer) *pushMetrics {
	m := &pushMetrics{
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerchat_push_envelopes_total",
			Help: "Envelopes pushed to or received from peers reached only over limited relayed circuits, by direction.",
		}, []string{"direction"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerchat_push_dropped_total",
			Help: "Envelopes not pushed, by reason: queue_full (sync delivers them later), too_large (larger than the relay lets one circuit carry).",
		}, []string{"reason"}),
		circuitBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "peerchat_circuit_bytes_sent_total",
			Help: "Estimated bytes this node wrote on limited relayed circuits (push and sync; wire size, framing included).",
		}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "peerchat_circuits_closed_total",
			Help: "Limited relayed circuits that ended, by cause: renewed (budget spent, closed here), time_limit (the relay's), reset (early, by the relay or the peer).",
		}, []string{"cause"}),
	}
	if reg != nil {
		reg.MustRegister(m.envelopes, m.dropped, m.circuitBytes, m.closed)
	}
	return m
}

// circuitClosed counts and logs, in words, why a limited circuit ended.
// The relay does not say why it resets a circuit; a circuit that lived to
// within a second of the relay's time limit ran out of time.
func (p *Push) circuitClosed(ci *circuit) {
	age := time.Since(ci.opened)
	cause, words := CauseReset, "reset by the relay or the peer before its limits"
	switch {
	case ci.renewing.Load():
		cause, words = CauseRenewed, "closed here: its data budget was spent"
	case ci.duration > 0 && age >= ci.duration-time.Second:
		cause, words = CauseTimeLimit, "the relay's time limit ran out"
	}
	p.metrics.closed.WithLabelValues(cause).Inc()
	if p.ctx.Err() != nil {
		return
	}
	p.cfg.Log.Info("relayed circuit closed: "+words, "peer", ci.conn.RemotePeer(), "cause", cause,
		"age", age.Round(time.Millisecond), "sent_bytes", ci.sent.Load(),
		"time_limit", ci.duration, "data_limit", ci.limit)
}
