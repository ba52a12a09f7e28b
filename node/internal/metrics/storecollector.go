package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerchat/peerchat/node/store"
)

// storeCollector reports the datastore's memory and open tables. A scrape
// reads the store's metrics once for all of its series, since Pebble
// assembles them anew on every call.
type storeCollector struct {
	st    *store.Store
	descs []storeSeries
}

type storeSeries struct {
	desc  *prometheus.Desc
	value func(store.Memory) float64
}

func newStoreCollector(st *store.Store) *storeCollector {
	series := func(name, help string, value func(store.Memory) float64) storeSeries {
		return storeSeries{prometheus.NewDesc(name, help, nil, nil), value}
	}
	return &storeCollector{st: st, descs: []storeSeries{
		series("peerchat_store_block_cache_bytes", "Bytes in the datastore's block cache, held outside the Go heap.",
			func(m store.Memory) float64 { return float64(m.BlockCacheBytes) }),
		series("peerchat_store_memtable_bytes", "Bytes in the datastore's memtables, held outside the Go heap.",
			func(m store.Memory) float64 { return float64(m.MemTableBytes) }),
		series("peerchat_store_zombie_memtable_bytes", "Bytes in flushed memtables that a reader still holds.",
			func(m store.Memory) float64 { return float64(m.ZombieMemTableBytes) }),
		series("peerchat_store_file_cache_bytes", "Bytes held by the datastore's open table readers.",
			func(m store.Memory) float64 { return float64(m.FileCacheBytes) }),
		series("peerchat_store_open_tables", "Tables the datastore's file cache holds open.",
			func(m store.Memory) float64 { return float64(m.OpenTables) }),
	}}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range c.descs {
		ch <- s.desc
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.st.Memory()
	for _, s := range c.descs {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.value(m))
	}
}
