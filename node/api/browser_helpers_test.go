package api

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// updateUIPNG makes the browser tests write the screenshots in docs/:
// ui.png (1280 px wide, which README.md shows) and ui-phone.png (390 px):
// go test ./node/api -run TestBrowserChat -update-ui-png
var updateUIPNG = flag.Bool("update-ui-png", false, "write docs/ui.png from the browser test's screenshot")

// chromiumPath finds Debian's chromium. The browser tests fail (never
// skip) without it, so a machine that lacks it cannot pass them silently.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PEERCHAT_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("PEERCHAT_CHROMIUM=%s: %v (run .ci/run to install Debian's chromium package)", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("Chromium is not installed, and the browser tests need it: run .ci/run, which installs " +
		"Debian's chromium package (or apt-get install -y chromium; PEERCHAT_CHROMIUM=PATH picks another binary)")
	return ""
}

// browser is one headless Chromium for one test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string // where screenshots go

	mu      sync.Mutex
	console []string // console messages of every page, for failure reports
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// Two pages share one browser: keep the one not in front at full speed.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit
	})
	// The first Do starts the browser, whose life is then bound to the
	// context it got: give it one with no deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx, shots: t.ArtifactDir()}
	t.Logf("screenshots go to %s (run go test with -artifacts to keep them)", b.shots)
	return b
}

// uiPage is one tab, in a browser context of its own (its own cookies),
// signed in to one node's web UI.
type uiPage struct {
	t    *testing.T
	b    *browser
	name string
	ctx  context.Context
	node *apiNode
}

// open signs a new tab in to a's web UI and waits until its event stream
// is connected.
func (b *browser) open(name string, a *apiNode) *uiPage {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	return b.signInTab(ctx, name, a)
}

// openBeside signs a new tab in the browser context of p (the same
// profile: cookies and storage shared) in to a's web UI.
func (p *uiPage) openBeside(name string, a *apiNode) *uiPage {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	p.t.Cleanup(cancel)
	return p.b.signInTab(ctx, name, a)
}

func (b *browser) signInTab(ctx context.Context, name string, a *apiNode) *uiPage {
	b.t.Helper()
	p := &uiPage{t: b.t, b: b, name: name, ctx: ctx, node: a}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 760)); err != nil { // opens the tab
		b.t.Fatalf("%s: open a tab: %v", name, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s: console %s: %s", name, m.Type, m.Text))
			b.mu.Unlock()
		}
	}()
	if err := p.do(30*time.Second, chromedp.Navigate(LoginURL(strings.TrimPrefix(a.srv.URL, "http://"), testToken))); err != nil {
		b.t.Fatalf("%s: sign in: %v", name, err)
	}
	p.waitJS(15*time.Second, "the page to connect", `document.querySelector('[data-testid=connection]').dataset.state === 'connected'`)
	return p
}

// do runs actions with a deadline.
func (p *uiPage) do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// eval evaluates a JavaScript expression, awaits it when it is a promise,
// and decodes its value into T.
func eval[T any](p *uiPage, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitJS polls expr until it is true and returns how long that took. On
// timeout it fails the test with a screenshot and what the page shows.
func (p *uiPage) waitJS(timeout time.Duration, what, expr string) time.Duration {
	p.t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var lastErr error
	for {
		ok, err := eval[bool](p, "Boolean("+expr+")")
		if err == nil && ok {
			return time.Since(start)
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the poll interval, not a wait for a condition
	}
	p.screenshot("failed-" + p.name)
	p.t.Fatalf("%s: timed out after %s waiting for %s (last error: %v)\n%s", p.name, timeout, what, lastErr, p.describe())
	return 0
}

// describe reports what the page shows, for failure messages.
func (p *uiPage) describe() string {
	s, err := eval[string](p, `JSON.stringify({
		banner: document.querySelector('[data-testid=connection]')?.innerText,
		typing: document.querySelector('[data-testid=typing]')?.innerText,
		messages: [...document.querySelectorAll('[data-testid=message]')].slice(-8).map(e => e.innerText),
		members: [...document.querySelectorAll('[data-testid=member]')].map(e => e.dataset.status + ' ' + e.innerText),
		peers: [...document.querySelectorAll('[data-testid=peer]')].map(e => e.innerText),
	}, null, 1)`)
	if err != nil {
		s = "(page state unreadable: " + err.Error() + ")"
	}
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	return "page: " + s + "\nconsole:\n  " + strings.Join(p.b.console, "\n  ")
}

// screenshot writes a PNG of the tab into the test's output folder and
// returns its path.
func (p *uiPage) screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Errorf("%s: screenshot %s: %v", p.name, name, err)
		return ""
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		p.t.Errorf("%s: screenshot %s is not a PNG", p.name, name)
	}
	path := filepath.Join(p.b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("write screenshot: %v", err)
		return ""
	}
	p.t.Logf("screenshot: %s", path)
	return path
}

// typeText types into the composer, as keystrokes.
func (p *uiPage) typeText(text string) {
	p.t.Helper()
	if err := p.do(10*time.Second, chromedp.SendKeys(chromedp.CSS(`[data-testid=composer]`), text)); err != nil {
		p.t.Fatalf("%s: type %q: %v", p.name, text, err)
	}
}

// pressEnter presses Enter in the composer the way a keyboard does, with
// no separate char event: SendKeys("\n") would also type a line break
// that the page's keydown handler already cancelled.
func (p *uiPage) pressEnter() {
	p.t.Helper()
	enter := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err := p.do(10*time.Second, chromedp.Focus(chromedp.CSS(`[data-testid=composer]`)), enter); err != nil {
		p.t.Fatalf("%s: press Enter: %v", p.name, err)
	}
}

// click clicks the first element that matches a CSS selector.
func (p *uiPage) click(sel string) {
	p.t.Helper()
	if err := p.do(10*time.Second, chromedp.Click(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("%s: click %s: %v\n%s", p.name, sel, err, p.describe())
	}
}

// openRoom clicks a room in the sidebar and waits until its history shows.
func (p *uiPage) openRoom(room string) {
	p.t.Helper()
	p.waitJS(10*time.Second, "room "+room+" in the list", `document.querySelector('[data-testid=room][data-room=`+jsString(room)+`]')`)
	p.click(`[data-testid=room][data-room="` + room + `"]`)
	p.waitJS(10*time.Second, "room "+room+" to open",
		`document.querySelector('[data-testid=room-title]').textContent === '# ' + `+jsString(room)+`
		 && !document.querySelector('[data-testid=composer]').closest('form').hidden`)
}

// startUINode starts a node named name with its API and web UI, with opts
// (the token is filled in).
func startUINode(t *testing.T, name string, opts Options, bootstrap ...*apiNode) *apiNode {
	t.Helper()
	a := startAPINodeIn(t, "", func(c *nodeConfig) { c.Name = name }, bootstrap...)
	// Serve the node again with these options.
	a.srv.Close()
	opts.Token = testToken
	a.srv = httptest.NewServer(New(a.node, opts))
	return a
}

// crash stops a node the way kill -9 would look to its peers: its network
// goes first, so it says no goodbye and peers must notice by themselves.
func (a *apiNode) crash() {
	a.node.Host().Close()
	a.stop()
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// updateDocsPNG copies a screenshot to docs/name.
func updateDocsPNG(t *testing.T, shot, name string) {
	t.Helper()
	if shot == "" {
		return
	}
	_, file, _, _ := runtime.Caller(0)
	dst := filepath.Join(filepath.Dir(file), "..", "..", "docs", name)
	if err := copyFile(shot, dst); err != nil {
		t.Errorf("update docs/%s: %v", name, err)
		return
	}
	t.Logf("wrote %s", dst)
}

// copyFile copies a file, for docs/ui.png.
func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return errors.New("empty file")
	}
	return os.WriteFile(to, data, 0o644)
}
