package store

import (
	"context"
	"errors"
	"fmt"

	ds "github.com/ipfs/go-datastore"
)

// SchemaVersion is the version of the store's format that this binary
// reads and writes. It is kept under /meta/schema. The versions:
//
//  1. The format before the version was stamped (no /meta/schema). Events
//     could be shown before their flush, so a crash could leave
//     /meta/seq-reserved above /meta/seq: seqs up to the reservation may
//     have been shown.
//  2. /meta/schema is written. Events are shown only once on disk, so
//     /meta/seq is never below a seq that was shown, and there is no
//     reservation.
//
// A change to the key layout or to the meaning of a value (the coming
// message kinds will make some) takes a new version and an upgrade step in
// upgrade, so that a folder is never read with the wrong meaning.
const SchemaVersion = 2

// ErrNewerSchema means the data folder was written by a newer peerchat,
// whose format this binary does not know: reading it could misread or
// damage it, so Open refuses it.
var ErrNewerSchema = errors.New("the data folder was written by a newer peerchat")

// keySchema holds the folder's SchemaVersion, as a big-endian uint64.
const keySchema = "/meta/schema"

// schemaVersion reads the folder's version: 0 for a new, empty folder and
// 1 for a folder written before versions were stamped.
func (s *Store) schemaVersion(ctx context.Context) (uint64, error) {
	v, err := s.getUint(ctx, keySchema)
	if err != nil || v != 0 {
		return v, err
	}
	empty := true
	if err := s.scanRaw("/", prefixEnd("/"), false, func(_, _ []byte) bool {
		empty = false
		return false
	}); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if empty {
		return 0, nil
	}
	return 1, nil
}

// upgrade brings the folder to SchemaVersion in one synced batch, or
// refuses a folder from a newer version with ErrNewerSchema. It runs in
// Open, before the committer starts.
func (s *Store) upgrade(ctx context.Context) error {
	v, err := s.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: %s has store schema version %d, and this binary reads versions up to %d; run the newer peerchat that wrote it",
			ErrNewerSchema, s.dir, v, SchemaVersion)
	}
	if v == SchemaVersion {
		return nil
	}
	b := s.newBatch()
	if v == 1 {
		if err := s.foldSeqReservation(ctx, b); err != nil {
			return fmt.Errorf("upgrade store from schema 1: %w", err)
		}
	}
	if err := b.Put(ctx, ds.NewKey(keySchema), uintBytes(SchemaVersion)); err != nil {
		return fmt.Errorf("stamp store schema: %w", err)
	}
	if err := b.commit(true); err != nil {
		return fmt.Errorf("upgrade store from schema %d to %d: %w", v, SchemaVersion, err)
	}
	if v != 0 {
		s.log.Info("upgraded the store", "dir", s.dir, "from", v, "to", SchemaVersion)
	}
	return nil
}

// foldSeqReservation moves a schema 1 reservation into /meta/seq: after a
// crash of the old code, seqs up to the reservation may have been shown,
// so numbering must resume above it, once, and from then on /meta/seq
// alone says where.
func (s *Store) foldSeqReservation(ctx context.Context, b *pebbleBatch) error {
	seq, err := s.getUint(ctx, keySeq)
	if err != nil {
		return err
	}
	reserved, err := s.getUint(ctx, keySeqReserved)
	if err != nil {
		return err
	}
	if reserved > seq {
		if err := b.Put(ctx, ds.NewKey(keySeq), uintBytes(reserved)); err != nil {
			return err
		}
	}
	return b.Delete(ctx, ds.NewKey(keySeqReserved))
}
