package node

import (
	"fmt"
	"net"
	"strings"
	"sync"

	manet "github.com/multiformats/go-multiaddr/net"
)

// LabPublicCIDRsEnv names the environment variable through which the
// peerchat command (never this package) takes the CIDRs to pass to
// TreatAsPublic.
const LabPublicCIDRsEnv = "PEERCHAT_LAB_PUBLIC_CIDRS"

var labCIDRsOnce sync.Once

// TreatAsPublic makes every address in the comma-separated cidrs count as
// a public internet address, for test labs only: go-libp2p hole punches,
// and relays vouch, only for public addresses, so a lab that uses a
// reserved range such as 198.18.0.0/15 as its "internet" needs it. Never
// use it on a real network.
//
// It changes go-multiaddr's tables, which are process globals read by
// every libp2p host, so a program calls it once, before building its first
// node; later calls do nothing. Every private or unroutable range that
// overlaps a CIDR given is dropped whole, which is coarse but fine in a
// lab.
func TreatAsPublic(cidrs string) error {
	var lab []*net.IPNet
	for _, s := range strings.Split(cidrs, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return fmt.Errorf("lab public CIDR %q: %w", s, err)
		}
		lab = append(lab, n)
	}
	if len(lab) == 0 {
		return nil
	}
	labCIDRsOnce.Do(func() {
		drop := func(ranges []*net.IPNet) []*net.IPNet {
			var keep []*net.IPNet
			for _, r := range ranges {
				overlaps := false
				for _, l := range lab {
					if r.Contains(l.IP) || l.Contains(r.IP) {
						overlaps = true
					}
				}
				if !overlaps {
					keep = append(keep, r)
				}
			}
			return keep
		}
		manet.Private4, manet.Unroutable4 = drop(manet.Private4), drop(manet.Unroutable4)
		manet.Private6, manet.Unroutable6 = drop(manet.Private6), drop(manet.Unroutable6)
	})
	return nil
}
