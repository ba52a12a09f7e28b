package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// headerRecorder is a small web server on another loopback port, such as
// a dev server the user runs beside the node. It records every header it
// gets.
type headerRecorder struct {
	srv *httptest.Server

	mu   sync.Mutex
	seen []string // "path: Name: value"
}

func newHeaderRecorder(t *testing.T) *headerRecorder {
	h := &headerRecorder{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		for name, vals := range r.Header {
			for _, v := range vals {
				h.seen = append(h.seen, r.URL.Path+": "+name+": "+v)
			}
		}
		h.mu.Unlock()
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><title>another app</title><img src="/pixel.png"><p id="ready">another app</p>`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *headerRecorder) headers() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

func TestBrowserAPageOnAnotherLoopbackPortGetsNoCredentialOfTheNode(t *testing.T) {
	b := newBrowser(t)
	a := startUINode(t, "ada", Options{})
	a.join("lobby")
	other := newHeaderRecorder(t)
	p := b.open("ada", a)
	session, err := eval[string](p, `localStorage.getItem('peerchat-session')`)
	if err != nil || len(session) < 40 {
		t.Fatalf("the signed-in page keeps session %q (%v)", session, err)
	}

	// The same tab goes to the other app, which loads a subresource and
	// makes a request of its own with credentials.
	if err := p.do(10*time.Second, chromedp.Navigate(other.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	p.waitJS(5*time.Second, "the other app", `document.getElementById('ready') && document.querySelector('img').complete`)
	if n, err := eval[int](p, `fetch('/api', {credentials: 'include'}).then(r => r.status)`); err != nil || n != 204 {
		t.Fatalf("the other app's own request: %d %v", n, err)
	}
	if n, err := eval[int](p, `localStorage.length`); err != nil || n != 0 {
		t.Errorf("the other app reads %d items of storage (%v), want none", n, err)
	}
	got := other.headers()
	t.Logf("the other app got %d header lines, e.g. %q", len(got), got[:min(3, len(got))])
	if len(got) == 0 {
		t.Fatal("the other app recorded no request")
	}
	for _, h := range got {
		if strings.Contains(h, ": Cookie: ") || strings.Contains(h, ": Authorization: ") ||
			strings.Contains(h, session) || strings.Contains(h, testToken) {
			t.Errorf("the other app got a credential of the node: %s", h)
		}
	}

	// Back on the node's UI, the tab is still signed in.
	if err := p.do(10*time.Second, chromedp.Navigate(a.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	p.waitJS(10*time.Second, "the UI connected again", transportIs("websocket"))
}

func TestBrowserTwoNodesStaySignedInSideBySideInOneProfile(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	bob := startUINode(t, "bob", Options{})
	ada.join("lobby")
	bob.join("lobby")
	pa := b.open("ada", ada)
	pb := pa.openBeside("bob", bob) // the same profile, signed in second

	// Signing in to bob did not sign ada's page out: it reloads and works.
	if err := pa.do(10*time.Second, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*uiPage{pa, pb} {
		p.waitJS(10*time.Second, "the UI connected on "+p.name, transportIs("websocket"))
		p.openRoom("lobby")
		p.typeText("hello from " + p.name + "'s tab")
		p.pressEnter()
		waitFor(t, 10*time.Second, p.name+"'s message stored on "+p.name+"'s node", func() bool {
			h := p.node.history("lobby")
			return len(h) == 1 && h[0].Text == "hello from "+p.name+"'s tab"
		})
		p.waitJS(10*time.Second, "the sent tick on "+p.name, tickIs("hello from "+p.name+"'s tab", "queued"))
	}
	if st, err := eval[string](pa, `document.querySelector('[data-testid=me]').textContent`); err != nil || st != "ada" {
		t.Errorf("ada's tab shows %q (%v), want ada", st, err)
	}
	if st, err := eval[string](pb, `document.querySelector('[data-testid=me]').textContent`); err != nil || st != "bob" {
		t.Errorf("bob's tab shows %q (%v), want bob", st, err)
	}
}

func TestBrowserSignOutEndsTheSessionOnTheNode(t *testing.T) {
	b := newBrowser(t)
	a := startUINode(t, "ada", Options{})
	p := b.open("ada", a)
	session, err := eval[string](p, `localStorage.getItem('peerchat-session')`)
	if err != nil || session == "" {
		t.Fatalf("no session kept: %v", err)
	}
	p.click(`[data-testid=sign-out]`)
	p.waitJS(10*time.Second, "the sign-in notice", `!document.querySelector('[data-testid=signin]').hidden
		&& document.querySelector('#app').hidden
		&& document.querySelector('[data-testid=connection]').dataset.state === 'signed-out'`)
	// The next API call with that session is refused, from the page and
	// from anywhere else.
	if st, err := eval[int](p, `fetch('/v1/node', {headers: {Authorization: 'Bearer ' + `+jsString(session)+`}}).then(r => r.status)`); err != nil || st != 401 {
		t.Fatalf("the page's next API call: %d (%v), want 401", st, err)
	}
	if st := a.doWith("GET", "/v1/node", nil, nil, session); st != 401 {
		t.Fatalf("the ended session from a program: %d, want 401", st)
	}
	if n, err := eval[int](p, `localStorage.length`); err != nil || n != 0 {
		t.Errorf("the page still keeps %d items after sign-out (%v)", n, err)
	}
	// A reload stays signed out.
	if err := p.do(10*time.Second, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	p.waitJS(10*time.Second, "the sign-in notice after a reload", `!document.querySelector('[data-testid=signin]').hidden`)
	p.screenshot("signed-out-after-sign-out")

	// A wrong link says so and asks for the token; pasting it signs in,
	// and the address bar never keeps a secret.
	host := strings.TrimPrefix(a.srv.URL, "http://")
	if err := p.do(10*time.Second, chromedp.Navigate(LoginURL(host, "wrong-token"))); err != nil {
		t.Fatal(err)
	}
	p.waitJS(10*time.Second, "the wrong-token answer", `document.querySelector('[data-testid=auth-status]').textContent.includes('wrong token')
		&& !document.querySelector('#auth-form').hidden && location.hash === ''`)
	if err := p.do(10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`[data-testid=auth-token]`), testToken),
		chromedp.Click(chromedp.CSS(`#auth-form button`)),
	); err != nil {
		t.Fatal(err)
	}
	p.waitJS(10*time.Second, "signed in with the pasted token", transportIs("websocket"))
	if href, err := eval[string](p, `location.href`); err != nil || strings.Contains(href, testToken) || strings.Contains(href, "auth") {
		t.Errorf("after sign-in the address bar shows %q (%v)", href, err)
	}
}
