package main

import (
	"log/slog"
	"os"

	"github.com/peerchat/peerchat/node"
)

// applyLabCIDRs passes PEERCHAT_LAB_PUBLIC_CIDRS, when set, to
// node.TreatAsPublic before the first node is built. Test labs that use a
// reserved range as their internet set it (see docs/relay.md); a bad CIDR
// fails the start rather than leaving the lab quietly private.
func applyLabCIDRs(logger *slog.Logger) error {
	v := os.Getenv(node.LabPublicCIDRsEnv)
	if v == "" {
		return nil
	}
	if err := node.TreatAsPublic(v); err != nil {
		return err
	}
	logger.Warn("test lab mode: treating these ranges as public internet", "cidrs", v)
	return nil
}
