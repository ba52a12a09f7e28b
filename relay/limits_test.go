package relay

import (
	"math"
	"testing"
	"time"
)

// The zero Limits are chat-fit: relayed connections carry no limit, so
// libp2p does not mark them limited and gossip runs over them.
func TestDefaultLimitsAreUnlimited(t *testing.T) {
	l := Limits{}.WithDefaults()
	if l.Limited() {
		t.Fatal("default limits are limited")
	}
	rc := l.resources()
	if rc.Limit != nil {
		t.Fatalf("default relay resources carry a limit %+v; relayed connections would be limited", *rc.Limit)
	}
	if rc.MaxReservations != 1024 || rc.MaxCircuits != 64 || rc.ReservationTTL != time.Hour {
		t.Fatalf("unexpected defaults: %+v", rc)
	}
	rm, err := l.resourceManager()
	if err != nil {
		t.Fatal(err)
	}
	rm.Close()
}

// A limit on one of duration and data leaves the other practically
// unbounded: libp2p's relay takes a zero duration literally.
func TestOneSidedLimit(t *testing.T) {
	rc := Limits{CircuitData: 1 << 20}.WithDefaults().resources()
	if rc.Limit == nil || rc.Limit.Data != 1<<20 || rc.Limit.Duration < 24*time.Hour {
		t.Fatalf("data-only limit = %+v", rc.Limit)
	}
	rc = Limits{CircuitDuration: time.Minute}.WithDefaults().resources()
	if rc.Limit == nil || rc.Limit.Duration != time.Minute || rc.Limit.Data != math.MaxInt64 {
		t.Fatalf("duration-only limit = %+v", rc.Limit)
	}
}
