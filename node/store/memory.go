package store

// Memory is what the datastore holds in memory. Pebble allocates its block
// cache and memtables by hand, so they show in a process's RSS but not in
// runtime.MemStats; both are bounded by configuration (an 8 MiB cache and
// at most two 4 MiB memtables by default), which is what a soak run needs
// to tell a filling cache from a leak. Zombie memtables and the file
// cache's open tables are reported too: memtables kept past their flush by
// a reader, or tables kept open, would show a leak there.
type Memory struct {
	// BlockCacheBytes is the size of the blocks in the cache.
	BlockCacheBytes int64
	// MemTableBytes is the size of the memtables, the one being written
	// and any waiting to be flushed.
	MemTableBytes int64
	// ZombieMemTableBytes is the size of flushed memtables that a reader
	// still holds.
	ZombieMemTableBytes int64
	// FileCacheBytes is what the open tables' readers hold.
	FileCacheBytes int64
	// OpenTables is how many tables the file cache holds open.
	OpenTables int64
}

// Memory reports the datastore's memory.
func (s *Store) Memory() Memory {
	m := s.db.DB.Metrics()
	return Memory{
		BlockCacheBytes:     m.BlockCache.Size,
		MemTableBytes:       int64(m.MemTable.Size),
		ZombieMemTableBytes: int64(m.MemTable.ZombieSize),
		FileCacheBytes:      m.FileCache.Size,
		OpenTables:          m.FileCache.TableCount,
	}
}
