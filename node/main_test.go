package node

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// node started in a test is closed, and Close must stop everything it
// started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
