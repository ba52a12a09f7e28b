package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFullDiskIsReportedAndTheNodeStaysUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs to fill: run it as root (CI runs .ci/run as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	n := testNode(t, filepath.Join(dir, "data"), func(c *Config) { c.MinFreeBytes = 16 << 20 })
	mustJoin(t, "disk", n)
	before := mustSend(t, n, "disk", "while there is room")

	// Fill the disk to just under the node's limit.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, free-(8<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	accepted := 0 // free space is measured at most every 250 ms
	waitFor(t, 5e9, "writes to be refused", func() bool {
		_, _, err := n.Send(context.Background(), "disk", "no room", "")
		if err == nil {
			accepted++
			return false
		}
		if ErrorCode(err) != CodeUnavailable || !strings.Contains(err.Error(), "disk") {
			t.Fatalf("full disk answered %v (code %s), want a clear unavailable error", err, ErrorCode(err))
		}
		return true
	})
	// The node is still up: it reads history, which holds exactly what it
	// acknowledged.
	if got := historyIDs(t, n, "disk"); len(got) != 1+accepted || got[0] != before.ID {
		t.Fatalf("history on a full disk holds %d messages, want %d", len(got), 1+accepted)
	}
	os.Remove(filler)
	waitFor(t, 5e9, "writes to work again", func() bool {
		_, _, err := n.Send(context.Background(), "disk", "room again", "")
		return err == nil
	})
}
