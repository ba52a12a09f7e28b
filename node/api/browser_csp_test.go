package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// recordCSPViolations is run by the browser in every document of the tab
// before the page's own scripts: it keeps every Content-Security-Policy
// violation in sessionStorage, which outlives the navigation from the
// sign-in page to the UI.
const recordCSPViolations = `document.addEventListener('securitypolicyviolation', (e) => {
	const seen = JSON.parse(sessionStorage.getItem('csp-violations') || '[]');
	seen.push(location.pathname + ': ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
	sessionStorage.setItem('csp-violations', JSON.stringify(seen));
});`

// TestBrowserTheUIRunsUnderItsCSPWithNoViolation: signing in and using the
// UI, phone layout included, breaks no rule of the CSP, which allows no
// inline style or script; an inline style is refused, which shows that
// the check sees violations.
func TestBrowserTheUIRunsUnderItsCSPWithNoViolation(t *testing.T) {
	b := newBrowser(t)
	a := startUINode(t, "ada", Options{})
	a.join("lobby")
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	p := &uiPage{t: t, b: b, name: "ada", ctx: ctx, node: a}
	inject := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordCSPViolations})
		return err
	})
	// The first action opens the tab, whose life is bound to the context
	// it gets: this one, with no deadline.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 760), inject); err != nil {
		t.Fatal(err)
	}
	if err := p.do(30*time.Second, chromedp.Navigate(LoginURL(strings.TrimPrefix(a.srv.URL, "http://"), testToken))); err != nil {
		t.Fatal(err)
	}
	p.waitJS(15*time.Second, "the UI connected", transportIs("websocket"))
	p.openRoom("lobby")
	p.typeText("styled by the stylesheet only")
	p.pressEnter()
	p.waitJS(10*time.Second, "the message", msgShown("styled by the stylesheet only"))
	if err := p.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	p.waitJS(5*time.Second, "the phone layout", `innerWidth === 390 && document.documentElement.scrollWidth <= innerWidth
		&& document.querySelector('#sidebar').getBoundingClientRect().right <= 0`)
	p.click(`#toggle-members`)
	p.waitJS(5*time.Second, "the members drawer", `document.body.classList.contains('show-members')`)
	violations := `JSON.parse(sessionStorage.getItem('csp-violations') || '[]')`
	if got, err := eval[[]string](p, violations); err != nil || len(got) != 0 {
		t.Fatalf("CSP violations while using the UI: %v (%v)", got, err)
	}

	// The control: an inline style is refused, and seen.
	if _, err := eval[bool](p, `(() => { document.head.insertAdjacentHTML('beforeend', '<style>body { color: red }</style>'); return true })()`); err != nil {
		t.Fatal(err)
	}
	p.waitJS(5*time.Second, "the inline style refused", violations+`.some(v => v.includes('style-src'))`)
}
