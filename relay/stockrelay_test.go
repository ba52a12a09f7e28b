package relay_test

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/libp2p/go-libp2p"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
)

// stockRelayArg, as the first argument after the test flags, makes
// TestStockRelayProcess run a stock relay instead of a test: the NAT lab
// starts this test binary so inside a namespace (see startStockRelay).
const stockRelayArg = "stock-relay"

// TestStockRelayProcess is a go-libp2p circuit relay v2 with its default
// limits (2 minutes, 128 KiB each way) and nothing of peerchat in it, as
// most public relays are (kubo's relay service is the same). It runs only
// when asked for by stockRelayArg, listening on the addresses that
// follow, until SIGTERM.
func TestStockRelayProcess(t *testing.T) {
	if flag.Arg(0) != stockRelayArg {
		t.Skip("runs only as the NAT lab's stock relay process")
	}
	var listen []string
	for _, a := range flag.Args()[1:] {
		if !strings.HasPrefix(a, "-") { // the lab may add --verbose, for peerchat
			listen = append(listen, a)
		}
	}
	h, err := libp2p.New(libp2p.ListenAddrStrings(listen...), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	svc, err := relayv2.New(h)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	fmt.Printf("peer ID: %s\n", h.ID())
	for _, a := range h.Addrs() {
		fmt.Printf("listening: %s\n", a)
	}
	fmt.Println("relay ready")
	<-sig
}
