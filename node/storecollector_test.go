package node

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestTheStoresMemoryIsExposedOnTheNodesRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	testNode(t, "", func(c *Config) { c.Registry = reg })
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	for _, name := range []string{"peerchat_store_block_cache_bytes", "peerchat_store_memtable_bytes",
		"peerchat_store_zombie_memtable_bytes", "peerchat_store_file_cache_bytes", "peerchat_store_open_tables"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s is not exposed", name)
		}
	}
	if got["peerchat_store_memtable_bytes"] <= 0 {
		t.Errorf("memtable bytes %v, want the open memtable's size", got["peerchat_store_memtable_bytes"])
	}
}
