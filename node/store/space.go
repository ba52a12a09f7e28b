package store

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// ErrDiskFull is returned for writes refused because the disk is nearly
// full. Nothing of the refused write is stored; it may be retried once
// space is freed.
var ErrDiskFull = errors.New("the disk holding the data folder is full")

// spaceCheckEvery bounds how often free space is measured: statfs is cheap
// but not free, and space does not vanish in a millisecond.
const spaceCheckEvery = 250 * time.Millisecond

// checkSpace refuses writes when the data folder's disk has less than
// MinFreeBytes free. It runs on the committer goroutine, which owns
// lastSpaceCheck and spaceErr.
func (s *Store) checkSpace() error {
	if s.opts.MinFreeBytes < 0 {
		return nil
	}
	if time.Since(s.lastSpaceCheck) < spaceCheckEvery {
		return s.spaceErr
	}
	s.lastSpaceCheck = time.Now()
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		s.spaceErr = nil // cannot tell; let the write try
		return nil
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < s.opts.MinFreeBytes {
		s.spaceErr = fmt.Errorf("%w: %d bytes free, %d needed", ErrDiskFull, free, s.opts.MinFreeBytes)
	} else {
		s.spaceErr = nil
	}
	return s.spaceErr
}
