package discovery

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a DHT or a loop outlives its test: closing
// the tasks must stop everything Start began.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
