package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what one scenario found. Every number peerchat is judged on
// sits next to the floor measured in the same run, so that the ratio, not
// the absolute number, carries the verdict on a shared, noisy machine.
type Report struct {
	Scenario string         `json:"scenario"`
	Started  time.Time      `json:"started"`
	Seconds  float64        `json:"seconds"`
	Params   map[string]any `json:"params"`
	Rows     []Row          `json:"rows"`
	Notes    []string       `json:"notes,omitempty"`
}

// Row is one measured quantity. Floor and Ratio are absent where no floor
// applies; Met is absent where the issue sets no target for the row.
type Row struct {
	Metric string   `json:"metric"`
	Unit   string   `json:"unit"`
	Value  float64  `json:"value"`
	Floor  *float64 `json:"floor,omitempty"`
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	Met    *bool    `json:"met,omitempty"`
}

// MarshalJSON writes a value that could not be measured (NaN, such as a
// percentile of no samples) as null: JSON has no NaN.
func (row Row) MarshalJSON() ([]byte, error) {
	type plain Row
	out := struct {
		plain
		Value *float64 `json:"value"`
	}{plain: plain(row)}
	if !math.IsNaN(row.Value) && !math.IsInf(row.Value, 0) {
		out.Value = &row.Value
	}
	if row.Floor != nil && (math.IsNaN(*row.Floor) || math.IsInf(*row.Floor, 0)) {
		out.Floor = nil
	}
	if row.Ratio != nil && (math.IsNaN(*row.Ratio) || math.IsInf(*row.Ratio, 0)) {
		out.Ratio = nil
	}
	return json.Marshal(out)
}

func newReport(scenario string) *Report {
	return &Report{Scenario: scenario, Started: time.Now().UTC(), Params: map[string]any{}}
}

// add appends a row without a floor.
func (r *Report) add(metric, unit string, value float64) *Row {
	r.Rows = append(r.Rows, Row{Metric: metric, Unit: unit, Value: value})
	return &r.Rows[len(r.Rows)-1]
}

// addVs appends a row with its floor and the ratio value/floor.
func (r *Report) addVs(metric, unit string, value, floor float64) *Row {
	row := r.add(metric, unit, value)
	f := floor
	row.Floor = &f
	if floor != 0 && !math.IsNaN(value) {
		q := value / floor
		row.Ratio = &q
	}
	return row
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// judge records the target and whether it is met.
func (row *Row) judge(target string, met bool) *Row {
	row.Target = target
	row.Met = &met
	return row
}

// maxRatio judges a row against a ratio target, such as 1.5x the floor.
func (row *Row) maxRatio(limit float64) *Row {
	met := row.Ratio != nil && *row.Ratio <= limit
	return row.judge(fmt.Sprintf("≤ %gx floor", limit), met)
}

// print writes the report as an aligned table.
func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "\n== %s (%.1f s)", r.Scenario, r.Seconds)
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%v", k, r.Params[k])
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tpeerchat\tfloor\tratio\ttarget\tmet")
	for _, row := range r.Rows {
		floor, ratio, met := "", "", ""
		if row.Floor != nil {
			floor = fmtNum(*row.Floor, row.Unit)
		}
		if row.Ratio != nil {
			ratio = fmt.Sprintf("%.2fx", *row.Ratio)
		}
		if row.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*row.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Metric, fmtNum(row.Value, row.Unit), floor, ratio, row.Target, met)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func fmtNum(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f %s", v, unit)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.3g %s", v, unit)
	}
}

// Run is the JSON file --json writes: the machine and every report.
type Run struct {
	Command string    `json:"command"`
	Machine Machine   `json:"machine"`
	Reports []*Report `json:"reports"`
}

func writeJSON(path string, run Run) error {
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// Machine describes where the numbers were taken.
type Machine struct {
	CPUs     int    `json:"cpus"`
	Model    string `json:"model"`
	MemoryMB int    `json:"memory_mb"`
	Go       string `json:"go"`
	Commit   string `json:"commit,omitempty"`
}

// readMachine reads the CPU model and memory from /proc; it is best effort.
func readMachine() Machine {
	m := Machine{CPUs: numCPU(), Go: goVersion()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		for _, line := range strings.Split(string(b), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				m.MemoryMB = kb / 1024
				break
			}
		}
	}
	return m
}

// Dist is a latency distribution in milliseconds.
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// distOf summarises durations; it sorts ds in place.
func distOf(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{P50: math.NaN(), P99: math.NaN(), Max: math.NaN()}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return Dist{N: len(ds), P50: ms(quantile(ds, 0.50)), P99: ms(quantile(ds, 0.99)), Max: ms(ds[len(ds)-1])}
}

// quantile picks the nearest-rank quantile of sorted ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
