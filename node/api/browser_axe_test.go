package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeVersion is the axe-core release the accessibility checks run, from
// npm (axe-core's axe.min.js). .ci/run fetches it and names the file in
// PEERCHAT_AXE_JS.
const axeVersion = "4.14.1"

// axeDefaultPath is where the file is looked for when PEERCHAT_AXE_JS is
// not set.
const axeDefaultPath = "/usr/local/share/axe-core/" + axeVersion + "/axe.min.js"

// axeSource reads axe.min.js. It fails, never skips, when the file is
// missing: a CI that lost the download must not pass the checks silently.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PEERCHAT_AXE_JS")
	if path == "" {
		path = axeDefaultPath
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core %s is needed for the accessibility checks and is not at %s (%v): .ci/run fetches it "+
			"(npm pack axe-core@%s, then PEERCHAT_AXE_JS=…/package/axe.min.js); by hand: "+
			"cd $(mktemp -d) && npm pack axe-core@%s && tar xzf axe-core-%s.tgz && export PEERCHAT_AXE_JS=$PWD/package/axe.min.js",
			axeVersion, path, err, axeVersion, axeVersion, axeVersion)
	}
	if !strings.Contains(string(data[:min(len(data), 400)]), axeVersion) {
		t.Fatalf("%s is not axe-core %s: its header says %q", path, axeVersion, data[:min(len(data), 120)])
	}
	return string(data)
}

// axeViolation is one rule an axe run found broken.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s, on %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "; "))
}

// checkAxe injects axe into the page (DevTools evaluation, which the
// page's CSP does not govern) and fails on every serious or critical
// violation of WCAG 2.1 A and AA in what the page shows now.
func (p *uiPage) checkAxe(src, view string) {
	p.t.Helper()
	if _, err := eval[bool](p, `window.axe ? true : (() => { `+src+`; return true })()`); err != nil {
		p.t.Fatalf("%s: inject axe: %v", view, err)
	}
	if v, err := eval[string](p, `axe.version`); err != nil || v != axeVersion {
		p.t.Fatalf("%s: axe.version = %q (%v), want %s", view, v, err, axeVersion)
	}
	out, err := evalWithin[string](p, 60*time.Second, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
		.then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
			id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ') + (n.failureSummary ? ' — ' + n.failureSummary.replace(/\s+/g, ' ') : '')),
		}))))`)
	if err != nil {
		p.t.Fatalf("%s: run axe: %v", view, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		p.t.Fatalf("%s: axe's answer %q: %v", view, out, err)
	}
	for _, v := range vs {
		p.t.Errorf("%s: %s", view, v)
	}
	if len(vs) == 0 {
		p.t.Logf("%s: no serious or critical violation", view)
	}
}

// evalWithin is eval with a longer deadline, for axe's runs.
func evalWithin[T any](p *uiPage, timeout time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}
