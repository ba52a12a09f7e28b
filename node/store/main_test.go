package store

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them:
// every store opened in a test is closed, and Close must stop the
// committer and everything Pebble started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
