package signals

import (
	"fmt"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

func TestPresenceLeaseStaysWithinWhatReceiversAcceptInHugeRooms(t *testing.T) {
	for _, size := range []int{1, 16, 17, 480, 481, 10_000, protocol.MaxRoomSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			every, lease := PresencePeriod(size)
			if lease.Milliseconds() > protocol.MaxLeaseMS {
				t.Errorf("lease %v exceeds %d ms", lease, protocol.MaxLeaseMS)
			}
			if every >= lease {
				t.Errorf("renewal every %v does not fit in the lease %v", every, lease)
			}
		})
	}
}
