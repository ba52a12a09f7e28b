package store

// Memory is what the datastore holds in memory outside the Go heap. Pebble
// allocates its block cache and memtables by hand, so they show in a
// process's RSS but not in runtime.MemStats; both are bounded by
// configuration (an 8 MiB cache and at most two 4 MiB memtables by
// default), which is what a soak run needs to tell a filling cache from a
// leak.
type Memory struct {
	// BlockCacheBytes is the size of the blocks in the cache.
	BlockCacheBytes int64
	// MemTableBytes is the size of the memtables, the one being written
	// and any waiting to be flushed.
	MemTableBytes int64
}

// Memory reports the datastore's memory outside the Go heap.
func (s *Store) Memory() Memory {
	m := s.db.DB.Metrics()
	return Memory{BlockCacheBytes: m.BlockCache.Size, MemTableBytes: int64(m.MemTable.Size)}
}
