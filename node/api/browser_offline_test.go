package api

import (
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// connTracker is a listener that remembers its connections, so that a
// test can cut them all: httptest.Server.Close leaves hijacked ones (the
// page's WebSocket) open, and a page on an open WebSocket never notices
// that its node's HTTP server stopped.
type connTracker struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *connTracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *connTracker) cutAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// httpSwitch stops and starts a node's HTTP server on one address, with
// the same handler (so the same sessions), while the node runs on.
type httpSwitch struct {
	t    *testing.T
	a    *apiNode
	addr string
	l    *connTracker
}

// switchable serves a again on its own address through a connTracker.
func switchable(t *testing.T, a *apiNode) *httpSwitch {
	t.Helper()
	s := &httpSwitch{t: t, a: a, addr: a.srv.Listener.Addr().String()}
	s.stop()
	s.start()
	return s
}

// stop ends the HTTP server and every connection to it.
func (s *httpSwitch) stop() {
	s.t.Helper()
	if s.l != nil {
		s.l.cutAll()
	}
	s.a.srv.CloseClientConnections()
	s.a.srv.Close()
}

// start serves the same handler on the same address again.
func (s *httpSwitch) start() {
	s.t.Helper()
	var l net.Listener
	var err error
	waitFor(s.t, 10*time.Second, "the address "+s.addr+" to be free", func() bool {
		l, err = net.Listen("tcp", s.addr)
		return err == nil
	})
	srv := httptest.NewUnstartedServer(s.a.srv.Config.Handler)
	srv.Listener.Close()
	s.l = &connTracker{Listener: l}
	srv.Listener = s.l
	srv.Start()
	s.a.srv = srv
}

const (
	noMemberOnline = `document.querySelectorAll('[data-testid=member][data-status=online]').length === 0
		&& document.querySelectorAll('[data-testid=member]').length > 0`
	composerSaysWait = `(() => { const n = document.querySelector('[data-testid=composer-note]');
		return !n.hidden && n.textContent.includes('wait') })()`
	bannerOffline = `document.querySelector('[data-testid=connection]').dataset.state === 'offline'`
)

// TestBrowserTheOfflineStateAndARecoveryAfterAReload: when one's own node
// stops answering, the page says so: members are not shown online, the
// composer says sends wait, and a message sent meanwhile goes out once
// the node is back. A reload while the node is down shows the page (kept
// by its service worker), not the browser's error page, and the page
// connects by itself when the node is back on the same port.
func TestBrowserTheOfflineStateAndARecoveryAfterAReload(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	bob := startUINode(t, "bob", Options{}, ada)
	ada.join("lobby")
	bob.join("lobby")
	waitFor(t, 15*time.Second, "the room's mesh", func() bool { return ada.roomPeers("lobby") == 1 && bob.roomPeers("lobby") == 1 })
	sw := switchable(t, ada)
	p := b.open("ada", ada)
	p.openRoom("lobby")
	bobID := bob.node.ID().String()
	p.waitJS(20*time.Second, "bob online", memberIs(bobID, "online"))
	// The service worker installs after the page's first load; a page
	// that loaded once, with its node up, is what this is about.
	p.waitJS(15*time.Second, "the service worker in control", `navigator.serviceWorker.controller !== null`)

	// The node's API goes away; the node itself runs on.
	sw.stop()
	down := time.Now()
	p.waitJS(20*time.Second, "the offline banner", bannerOffline)
	t.Logf("offline shown %s after the node's API stopped", time.Since(down).Round(time.Millisecond))
	p.waitJS(5*time.Second, "no member shown online", noMemberOnline)
	p.waitJS(5*time.Second, "no peer shown connected", `document.querySelectorAll('[data-testid=peer]').length === 0`)
	p.waitJS(5*time.Second, "the composer saying sends wait", composerSaysWait)
	p.screenshot("ada-offline")
	p.typeText("sent while my node was down")
	p.pressEnter()
	p.waitJS(5*time.Second, "the message waiting", `document.querySelector('[data-testid=message][data-pending]') !== null`)

	sw.start()
	p.waitJS(30*time.Second, "the message delivered", msgShown("sent while my node was down"))
	p.waitJS(20*time.Second, "bob online again", memberIs(bobID, "online"))
	p.waitJS(5*time.Second, "the composer note gone", `document.querySelector('[data-testid=composer-note]').hidden`)
	if n, err := eval[int](p, `document.querySelectorAll('[data-testid=message][data-pending]').length`); err != nil || n != 0 {
		t.Errorf("%d messages still pending after the node came back (%v)", n, err)
	}

	// A reload while the node is down, with a message waiting, then the
	// node comes back.
	sw.stop()
	p.waitJS(20*time.Second, "the offline banner", bannerOffline)
	p.typeText("sent before the reload")
	p.pressEnter()
	p.waitJS(5*time.Second, "the message waiting", `document.querySelector('[data-testid=message][data-pending]') !== null`)
	if err := p.do(20*time.Second, chromedp.Reload()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	p.waitJS(20*time.Second, "the page, offline, after the reload", `document.querySelector('[data-testid=boot-offline]') !== null
		&& !document.querySelector('[data-testid=boot-offline]').hidden && `+bannerOffline+`
		&& document.querySelector('[data-testid=boot-outbox]').textContent === '1 message waits to be sent.'`)
	p.screenshot("ada-reloaded-offline")
	sw.start()
	back := time.Now()
	p.waitJS(30*time.Second, "the page connected by itself", `document.querySelector('[data-testid=connection]').dataset.state === 'connected'
		&& !document.querySelector('#app').hidden && document.querySelector('[data-testid=boot-offline]').hidden`)
	t.Logf("the reloaded page connected %s after the node's API came back", time.Since(back).Round(time.Millisecond))
	p.waitJS(20*time.Second, "bob online after the reload", memberIs(bobID, "online"))
	p.waitJS(10*time.Second, "the history after the reload", msgShown("sent while my node was down"))
	p.waitJS(20*time.Second, "the message kept over the reload, delivered", msgShown("sent before the reload"))
	n := 0
	for _, m := range ada.history("lobby") {
		if m.Text == "sent before the reload" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the message kept over the reload is stored %d times, want once", n)
	}
}
