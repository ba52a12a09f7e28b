package store

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	ds "github.com/ipfs/go-datastore"
)

// pebbleBatch is a go-datastore batch written straight to Pebble with the
// same key encoding as go-ds-pebble, so that its commit can choose to sync.
// A batch somebody waits for is committed with pebble.Sync: Pebble writes
// its WAL record and flushes it in one trip through its commit pipeline,
// where an unsynced commit followed by a separate flush request takes two.
type pebbleBatch struct {
	b *pebble.Batch
}

func (s *Store) newBatch() *pebbleBatch { return &pebbleBatch{b: s.db.DB.NewBatch()} }

func (p *pebbleBatch) Put(_ context.Context, key ds.Key, value []byte) error {
	if err := p.b.Set(key.Bytes(), value, nil); err != nil {
		return fmt.Errorf("set %s in batch: %w", key, err)
	}
	return nil
}

func (p *pebbleBatch) Delete(_ context.Context, key ds.Key) error {
	if err := p.b.Delete(key.Bytes(), nil); err != nil {
		return fmt.Errorf("delete %s in batch: %w", key, err)
	}
	return nil
}

// Commit applies the batch without flushing it; commit chooses.
func (p *pebbleBatch) Commit(context.Context) error { return p.commit(false) }

// commit applies the batch and, with sync, flushes the WAL before it
// returns. The batch cannot be used afterwards.
func (p *pebbleBatch) commit(sync bool) error {
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	err := p.b.Commit(opts)
	p.b.Close()
	return err
}

var _ ds.Batch = (*pebbleBatch)(nil)
