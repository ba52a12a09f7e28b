package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// drawerOpen is a JS test: the drawer is on screen, whole.
func drawerOpen(id string) string {
	return `(() => { const r = document.getElementById('` + id + `').getBoundingClientRect();
		return r.left >= 0 && r.right <= innerWidth && !document.getElementById('` + id + `').inert })()`
}

// drawerClosed is a JS test: the drawer is off screen and inert.
func drawerClosed(id string) string {
	return `(() => { const e = document.getElementById('` + id + `'); const r = e.getBoundingClientRect();
		return (r.right <= 0 || r.left >= innerWidth) && e.inert })()`
}

var keyCodes = map[string]int64{"Tab": 9, "Escape": 27}

// pressKey presses a key as a keyboard does, to the focused element.
func (p *uiPage) pressKey(key string) {
	p.t.Helper()
	press := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: key, Code: key, WindowsVirtualKeyCode: keyCodes[key], NativeVirtualKeyCode: keyCodes[key],
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err := p.do(10*time.Second, press); err != nil {
		p.t.Fatalf("%s: press %s: %v", p.name, key, err)
	}
}

// phone makes the page 390 px wide, as a phone.
func (p *uiPage) phone(on bool) {
	p.t.Helper()
	var err error
	if on {
		err = p.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	} else {
		err = p.do(10*time.Second, chromedp.EmulateViewport(1280, 800))
	}
	if err != nil {
		p.t.Fatal(err)
	}
	want := "1280"
	if on {
		want = "390"
	}
	p.waitJS(5*time.Second, want+" px", `innerWidth === `+want)
}

// TestBrowserTheMainViewsPassAxe runs axe-core on the chat (with links, a
// folded message, ticks, members and peers), the name form, an offer to
// join, each drawer on a phone, and the sign-in pages, at 1280 and 390 px:
// no serious or critical violation of WCAG 2.1 A and AA, colour contrast
// included.
func TestBrowserTheMainViewsPassAxe(t *testing.T) {
	src := axeSource(t)
	b := newBrowser(t)
	ada, bob, p := meshed(t, b)
	ada.join("random")
	bob.send("lobby", "Morning! See https://example.com and #garden", "")
	ada.send("lobby", "On my way", "")
	bob.send("lobby", strings.Repeat("A long one. ", 100), "")
	p.waitJS(10*time.Second, "the messages", msgShown("On my way"))
	p.waitJS(20*time.Second, "bob online", memberIs(bob.node.ID().String(), "online"))

	for _, width := range []string{"1280", "390"} {
		p.phone(width == "390")
		p.checkAxe(src, "chat at "+width)
		p.click(`[data-testid=room-link][data-room=garden]`)
		p.waitJS(5*time.Second, "the join offer", `!document.querySelector('[data-testid=join-offer]').hidden`)
		p.checkAxe(src, "join offer at "+width)
		p.click(`[data-testid=join-offer-no]`)
		if width == "390" {
			p.click(`#toggle-sidebar`)
			p.waitJS(5*time.Second, "the sidebar drawer", drawerOpen("sidebar"))
		}
		p.click(`[data-testid=me]`)
		p.waitJS(5*time.Second, "the name form", `!document.querySelector('[data-testid=name-form]').hidden`)
		p.checkAxe(src, "name form at "+width)
		p.click(`#name-cancel`)
		if width == "390" {
			p.checkAxe(src, "rooms drawer at "+width)
			p.pressKey("Escape")
			p.waitJS(5*time.Second, "the sidebar closed", drawerClosed("sidebar"))
			p.click(`#toggle-members`)
			p.waitJS(5*time.Second, "the members drawer", drawerOpen("members-panel"))
			p.checkAxe(src, "members drawer at "+width)
			p.pressKey("Escape")
			p.waitJS(5*time.Second, "the members closed", drawerClosed("members-panel"))
		}
	}

	// The dark theme, wide and narrow.
	if err := p.do(10*time.Second, darkTheme()); err != nil {
		t.Fatal(err)
	}
	p.waitJS(5*time.Second, "the dark theme", `matchMedia('(prefers-color-scheme: dark)').matches`)
	for _, width := range []string{"1280", "390"} {
		p.phone(width == "390")
		p.checkAxe(src, "dark chat at "+width)
	}

	// The sign-in page, and the notice of a page with no session.
	for _, width := range []string{"1280", "390"} {
		p.phone(width == "390")
		if err := p.do(10*time.Second, chromedp.Navigate(ada.srv.URL+"/auth")); err != nil {
			t.Fatal(err)
		}
		p.waitJS(5*time.Second, "the sign-in form", `!document.querySelector('#auth-form').hidden`)
		p.checkAxe(src, "sign-in page at "+width)
	}
}

// TestBrowserTicksSayTheirStatusAndDifferInShape: a delivered and a read
// tick read differently to a screen reader ("Delivered", "Read") and
// differ in shape (read is a filled badge), not in colour only.
func TestBrowserTicksSayTheirStatusAndDifferInShape(t *testing.T) {
	b := newBrowser(t)
	_, bob, p := meshed(t, b)
	p.typeText("did you get this?")
	p.pressEnter()
	p.waitJS(15*time.Second, "the delivered tick", tickIs("did you get this?", "delivered"))
	look := `(() => { const m = [...document.querySelectorAll('[data-testid=message][data-own=true]')].find(e => e.textContent.includes('did you get this?'));
		const t = m.querySelector('[data-testid=tick]'); const s = getComputedStyle(t);
		return {said: t.querySelector('[data-testid=tick-text]').textContent, hidden: t.querySelector('.glyph').getAttribute('aria-hidden'),
			filled: s.backgroundColor !== 'rgba(0, 0, 0, 0)' && parseFloat(s.borderTopLeftRadius) > 0} })()`
	type tick struct {
		Said   string
		Hidden string
		Filled bool
	}
	if got, err := eval[tick](p, look); err != nil || got != (tick{"Delivered", "true", false}) {
		t.Errorf("the delivered tick: %+v (%v), want it to say Delivered, its glyph hidden, not filled", got, err)
	}
	pb := b.open("bob", bob)
	pb.openRoom("lobby")
	p.waitJS(15*time.Second, "the read tick", tickIs("did you get this?", "read"))
	if got, err := eval[tick](p, look); err != nil || got != (tick{"Read", "true", true}) {
		t.Errorf("the read tick: %+v (%v), want it to say Read, its glyph hidden, on a filled badge", got, err)
	}
}

// TestBrowserNewMessagesAreAnnouncedInANamedPane: a message that arrives
// in the open room is put in a polite live region; the history loaded
// when a room opens is not; the message pane is named after the room.
func TestBrowserNewMessagesAreAnnouncedInANamedPane(t *testing.T) {
	b := newBrowser(t)
	_, bob, p := meshed(t, b)
	bob.send("lobby", "from the history", "")
	p.waitJS(10*time.Second, "bob's message", msgShown("from the history"))
	p.openRoom("lobby")
	region := `(() => { const a = document.querySelector('[data-testid=announcer]');
		return a.getAttribute('aria-live') === 'polite' && a.textContent })()`
	bob.send("lobby", "hello, screen reader", "")
	p.waitJS(10*time.Second, "the announcement", region+` === 'bob in #lobby: hello, screen reader'`)
	if label, err := eval[string](p, `(() => { const m = document.querySelector('[data-testid=messages]'); return m.getAttribute('role') + ' ' + m.getAttribute('aria-label') })()`); err != nil || label != "region Messages in #lobby" {
		t.Errorf("the message pane is %q (%v), want a region named after the room", label, err)
	}
	// Reopening the room loads its history: nothing new is announced.
	if _, err := eval[bool](p, `(() => { document.querySelector('[data-testid=announcer]').textContent = ''; return true })()`); err != nil {
		t.Fatal(err)
	}
	if err := p.do(20*time.Second, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	p.waitJS(10*time.Second, "the history after a reload", msgShown("hello, screen reader"))
	if got, err := eval[string](p, `document.querySelector('[data-testid=announcer]').textContent`); err != nil || got != "" {
		t.Errorf("loading history announced %q (%v)", got, err)
	}
}

// TestBrowserDrawersTakeFocusCloseOnEscapeAndHideFromTab: on a phone, Tab
// never walks into a closed drawer; a drawer that opens takes the focus,
// and says so on its button; Escape closes it and gives the focus back.
// On a wide screen the sidebar is no drawer, and is reachable.
func TestBrowserDrawersTakeFocusCloseOnEscapeAndHideFromTab(t *testing.T) {
	b := newBrowser(t)
	_, _, p := meshed(t, b)
	p.phone(true)
	p.waitJS(5*time.Second, "both drawers closed", drawerClosed("sidebar")+` && `+drawerClosed("members-panel"))
	if _, err := eval[bool](p, `(() => { document.activeElement?.blur(); window.tabbed = []; return true })()`); err != nil {
		t.Fatal(err)
	}
	for range 25 {
		p.pressKey("Tab")
		if _, err := eval[bool](p, `(() => { const e = document.activeElement; tabbed.push((e.id || e.tagName) + (e.closest('#sidebar, #members-panel') ? ' IN A DRAWER' : '')); return true })()`); err != nil {
			t.Fatal(err)
		}
	}
	tabbed, err := eval[[]string](p, `tabbed`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(tabbed, ","), "IN A DRAWER") || !strings.Contains(strings.Join(tabbed, ","), "text") {
		t.Errorf("Tab walked through %v: want the composer, and nothing in a closed drawer", tabbed)
	}

	for _, d := range []struct{ button, panel string }{{"toggle-sidebar", "sidebar"}, {"toggle-members", "members-panel"}} {
		expanded := `document.getElementById('` + d.button + `').getAttribute('aria-expanded')`
		if v, _ := eval[string](p, expanded); v != "false" {
			t.Errorf("%s: aria-expanded %q while closed", d.button, v)
		}
		p.click("#" + d.button)
		p.waitJS(5*time.Second, d.panel+" open, with the focus", drawerOpen(d.panel)+` && document.getElementById('`+d.panel+`').contains(document.activeElement)
			&& `+expanded+` === 'true'`)
		// The focus stays in the open drawer, as in a dialog.
		for range 8 {
			p.pressKey("Tab")
			if in, err := eval[bool](p, `document.getElementById('`+d.panel+`').contains(document.activeElement) || document.activeElement === document.body`); err != nil || !in {
				at, _ := eval[string](p, `document.activeElement.id || document.activeElement.tagName`)
				t.Fatalf("Tab left the open %s for %s (%v)", d.panel, at, err)
			}
		}
		p.pressKey("Escape")
		p.waitJS(5*time.Second, d.panel+" closed, the focus back on its button", drawerClosed(d.panel)+`
			&& document.activeElement.id === '`+d.button+`' && `+expanded+` === 'false'`)
	}

	p.phone(false)
	p.waitJS(5*time.Second, "the sidebar reachable on a wide screen", `!document.getElementById('sidebar').inert && !document.getElementById('members-panel').inert`)
}

// TestBrowserFieldBordersAndPillsAreContrasted: the borders that show
// where a text field is, and those of the direct/relayed pills, are at
// least 3:1 against what surrounds them (WCAG 1.4.11), in both themes;
// axe checks text, not borders.
func TestBrowserFieldBordersAndPillsAreContrasted(t *testing.T) {
	b := newBrowser(t)
	_, _, p := meshed(t, b)
	p.waitJS(10*time.Second, "a peer pill", `document.querySelector('[data-testid=connection-kind]')`)
	check := `(() => {
		const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
		const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 };
			return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b) };
		const ratio = (a, b) => { const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05) };
		const around = (e) => { for (let p = e.parentElement; p; p = p.parentElement) { const c = getComputedStyle(p).backgroundColor;
			if (!c.startsWith('rgba(0, 0, 0, 0)')) return c } return 'rgb(255, 255, 255)' };
		const low = [];
		for (const sel of ['#join-name', '#text', '[data-testid=connection-kind]', '#sign-out']) {
			const e = document.querySelector(sel); const s = getComputedStyle(e);
			const r = Math.min(ratio(s.borderTopColor, around(e)), ratio(s.borderTopColor, s.backgroundColor.startsWith('rgba(0, 0, 0, 0)') ? around(e) : s.backgroundColor));
			if (r < 3) low.push(sel + ' ' + r.toFixed(2));
		}
		return low })()`
	if low, err := eval[[]string](p, check); err != nil || len(low) != 0 {
		t.Errorf("light theme: borders under 3:1: %v (%v)", low, err)
	}
	if err := p.do(10*time.Second, darkTheme()); err != nil {
		t.Fatal(err)
	}
	p.waitJS(5*time.Second, "the dark theme", `matchMedia('(prefers-color-scheme: dark)').matches`)
	if low, err := eval[[]string](p, check); err != nil || len(low) != 0 {
		t.Errorf("dark theme: borders under 3:1: %v (%v)", low, err)
	}
}

// darkTheme makes the page's system prefer dark colours.
func darkTheme() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	})
}
