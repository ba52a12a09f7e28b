package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// scenario is one measurement peerchat-bench can run. Each scenario's file
// registers it from an init function, together with its own options and
// flags, so that adding a scenario is adding one file: main.go, the usage
// text, `all` and the test that runs every scenario learn of it from the
// registry and name no scenario themselves.
type scenario struct {
	// name is the word on the command line that selects the scenario.
	name string
	// rank orders the scenarios in `all`, in the usage text and in the
	// test: lower runs first. Ranks are unique, so the order does not
	// depend on the order in which the files' init functions run.
	rank int
	// summary is the scenario's line in the usage text.
	summary string
	// flags defines the scenario's own flags on fs, bound to a fresh value
	// of the scenario's options, and returns the scenario's run, which
	// reads them. It is called before fs is parsed and the run after, once
	// per command line. Every scenario's flags are defined on every command
	// line, as before the registry: `all` needs them together, and a flag
	// meant for another scenario is ignored rather than refused.
	flags func(fs *flag.FlagSet) runFunc
	// smallest are the flags that make the scenario as small as it goes,
	// for the test that keeps every scenario running (bench_test.go).
	smallest []string
}

// runFunc runs a scenario with the options every scenario shares; the
// scenario's own options are bound into it by scenario.flags.
type runFunc func(ctx context.Context, o *options) (*Report, error)

// registry holds every registered scenario, ordered by rank. Only init
// functions write it, so it needs no lock.
var registry []scenario

// register adds s to the registry. It panics on a scenario that could not
// run or that clashes with one already registered: both are programming
// errors that must fail the first run, not a measurement hours later.
func register(s scenario) {
	if s.name == "" || s.name == "all" || strings.HasPrefix(s.name, "-") || s.flags == nil || s.summary == "" {
		panic(fmt.Sprintf("peerchat-bench: scenario %q needs a name other than all, a summary and flags", s.name))
	}
	for _, r := range registry {
		if r.name == s.name || r.rank == s.rank {
			panic(fmt.Sprintf("peerchat-bench: scenario %q (rank %d) clashes with %q (rank %d)", s.name, s.rank, r.name, r.rank))
		}
	}
	registry = append(registry, s)
	slices.SortFunc(registry, func(a, b scenario) int { return cmp.Compare(a.rank, b.rank) })
}

// scenarioNames are the registered scenarios' names in the order `all`
// runs them.
func scenarioNames() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.name
	}
	return names
}

// isScenario reports whether name is a registered scenario.
func isScenario(name string) bool {
	return slices.ContainsFunc(registry, func(s scenario) bool { return s.name == name })
}

// defineScenarioFlags defines every registered scenario's flags on fs and
// returns each scenario's run by name.
func defineScenarioFlags(fs *flag.FlagSet) map[string]runFunc {
	runs := make(map[string]runFunc, len(registry))
	for _, s := range registry {
		runs[s.name] = s.flags(fs)
	}
	return runs
}

// printScenarios writes one line per scenario, and one for `all`, for the
// usage text.
func printScenarios(w io.Writer) {
	width := len("all")
	for _, s := range registry {
		width = max(width, len(s.name))
	}
	fmt.Fprintln(w, "scenarios:")
	for _, s := range registry {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "all", "every scenario above, one after another")
}
