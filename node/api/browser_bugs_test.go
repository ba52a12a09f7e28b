package api

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The bugs of issue 21 that a new user trips over, one test each, each
// failing before its fix.

// selfStatus is the presence a's node announces for its own user.
func selfStatus(t *testing.T, a *apiNode, room string) string {
	t.Helper()
	var out struct {
		Members []struct {
			PeerID string `json:"peer_id"`
			Status string `json:"status"`
		}
	}
	if st := a.do("GET", "/v1/rooms/"+room+"/members", nil, &out); st != 200 {
		t.Fatalf("members: %d", st)
	}
	for _, m := range out.Members {
		if m.PeerID == a.node.ID().String() {
			return m.Status
		}
	}
	return ""
}

func TestBrowserMembersShowAPeerWhoJoinsTheOpenRoom(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	bob := startUINode(t, "bob", Options{}, ada)
	// Bob is online already, met in another room: his joining the lobby
	// changes no presence.
	ada.join("random")
	bob.join("random")
	ada.join("lobby")
	waitFor(t, 15*time.Second, "the random room's mesh", func() bool { return ada.roomPeers("random") == 1 })
	p := b.open("ada", ada)
	p.openRoom("lobby")
	p.waitJS(10*time.Second, "bob online in random", `(async () => {
		const r = await fetch('/v1/rooms/random/members', {headers: {Authorization: 'Bearer ' + localStorage.getItem('peerchat-session')}});
		return (await r.json()).members.some(m => m.peer_id === `+jsString(bob.node.ID().String())+` && m.status === 'online') })()`)
	if n, err := eval[int](p, `document.querySelectorAll('[data-testid=member]').length`); err != nil || n != 1 {
		t.Fatalf("lobby's members before bob joins: %d (%v), want ada alone", n, err)
	}

	joined := time.Now()
	bob.join("lobby")
	p.waitJS(8*time.Second, "bob in the open room's members", memberIs(bob.node.ID().String(), "online"))
	t.Logf("bob shown in the members %s after he joined", time.Since(joined).Round(time.Millisecond))
}

// hide makes a tab behave as a background tab: headless Chromium shows
// every tab, so the page's visibility is overridden and the event fired.
func hide(p *uiPage, hidden bool) {
	p.t.Helper()
	state := "visible"
	if hidden {
		state = "hidden"
	}
	if _, err := eval[bool](p, `(() => { Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => `+jsString(state)+`});
		delete document.body.dataset.presence;
		document.dispatchEvent(new Event('visibilitychange')); return true })()`); err != nil {
		p.t.Fatalf("%s: set visibility %s: %v", p.name, state, err)
	}
}

func TestBrowserABackgroundTabDoesNotSetTheUserAway(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	ada.join("lobby")
	front := b.open("front", ada)
	back := front.openBeside("back", ada) // the same profile
	waitFor(t, 5*time.Second, "ada online", func() bool { return selfStatus(t, ada, "lobby") == "online" })

	hide(back, true)
	waitFor(t, 5*time.Second, "the background tab to decide", func() bool {
		decided, _ := eval[string](back, `document.body.dataset.presence || ''`)
		return decided != "" || selfStatus(t, ada, "lobby") == "away"
	})
	if st := selfStatus(t, ada, "lobby"); st != "online" {
		t.Fatalf("a background tab set ada %s while another tab shows the node", st)
	}

	// When no tab shows the node, the user is away; back in front, online.
	hide(front, true)
	waitFor(t, 5*time.Second, "ada away with every tab hidden", func() bool { return selfStatus(t, ada, "lobby") == "away" })
	hide(front, false)
	waitFor(t, 5*time.Second, "ada online again", func() bool { return selfStatus(t, ada, "lobby") == "online" })
}

func TestBrowserAVeryLongDisplayNameDoesNotWidenThePage(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	long := startUINode(t, strings.Repeat("W", 3000), Options{}, ada)
	ada.join("lobby")
	long.join("lobby")
	waitFor(t, 15*time.Second, "the room's mesh", func() bool { return ada.roomPeers("lobby") == 1 })
	p := b.open("ada", ada)
	p.openRoom("lobby")
	long.send("lobby", "hello", "")
	p.waitJS(10*time.Second, "the long-named peer's message", msgShown("hello"))
	if st := long.do("POST", "/v1/rooms/lobby/typing", nil, nil); st != 200 {
		t.Fatalf("typing: %d", st)
	}
	p.waitJS(10*time.Second, "the long name typing", typingShows("WWWW"))
	p.waitJS(10*time.Second, "the long name among the members", memberIs(long.node.ID().String(), "online"))
	widths := `({page: document.documentElement.scrollWidth, window: innerWidth,
		messages: document.querySelector('[data-testid=messages]').scrollWidth, messagesBox: document.querySelector('[data-testid=messages]').clientWidth})`
	ok, err := eval[bool](p, `(() => { const w = `+widths+`; return w.page <= w.window && w.messages <= w.messagesBox })()`)
	if err != nil || !ok {
		w, _ := eval[map[string]int](p, widths)
		t.Fatalf("with a 3,000-character name the page is %d px wide in a %d px window, its messages %d px in %d (%v)",
			w["page"], w["window"], w["messages"], w["messagesBox"], err)
	}
	// The name is cut short on the typing line, so that its sentence shows.
	if ok, err := eval[bool](p, `(() => { const e = document.querySelector('[data-testid=typing]');
		return e.textContent.endsWith('is typing…') && e.scrollWidth <= e.clientWidth })()`); err != nil || !ok {
		t.Errorf("the typing line does not show \"is typing…\" whole (%v)", err)
	}
	p.screenshot("ada-long-name")
}

func TestBrowserTheEmptyComposerHasNoScrollbarAfterASend(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	ada.join("lobby")
	p := b.open("ada", ada)
	p.openRoom("lobby")
	p.typeText("first")
	p.pressEnter()
	p.waitJS(10*time.Second, "the message sent", msgShown("first"))
	const overflow = `(() => { const ta = document.querySelector('[data-testid=composer]'); return ta.value === '' && ta.scrollHeight <= ta.clientHeight })()`
	if ok, err := eval[bool](p, overflow); err != nil || !ok {
		h, _ := eval[[]int](p, `(() => { const ta = document.querySelector('[data-testid=composer]'); return [ta.scrollHeight, ta.clientHeight] })()`)
		t.Fatalf("the empty composer scrolls: scrollHeight %d over clientHeight %d (%v)", h[0], h[1], err)
	}
}

func TestBrowserReceivedMessagesAreNotIndented(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	bob := startUINode(t, "bob", Options{}, ada)
	ada.join("lobby")
	bob.join("lobby")
	waitFor(t, 15*time.Second, "the room's mesh", func() bool { return ada.roomPeers("lobby") == 1 })
	p := b.open("ada", ada)
	p.openRoom("lobby")
	bob.send("lobby", "from bob", "")
	p.waitJS(10*time.Second, "bob's message", msgShown("from bob"))
	indent, err := eval[float64](p, `(() => { const li = [...document.querySelectorAll('[data-testid=message][data-own=false]')].at(-1);
		return li.querySelector('.bubble').getBoundingClientRect().left - document.querySelector('#message-list').getBoundingClientRect().left })()`)
	if err != nil || indent > 4 {
		t.Fatalf("a received message starts %.0f px into the list (%v), want at its edge", indent, err)
	}
}

func TestBrowserAMalformedFragmentOpensTheFirstRoomAndThrowsNothing(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	ada.join("lobby")
	ada.join("random")
	p := b.open("ada", ada)
	// A new document, not a hash change of the open one: the page boots
	// with the fragment.
	if err := p.do(10*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(ada.srv.URL+"/#%E0%A4%A")); err != nil {
		t.Fatal(err)
	}
	p.waitJS(10*time.Second, "the first room open", `document.querySelector('[data-testid=room-title]').textContent === '# lobby'`)
	// A malformed fragment typed while the page runs changes nothing
	// either, and throws nothing.
	p.openRoom("random")
	if _, err := eval[bool](p, `(() => { window.errors = []; addEventListener('error', e => errors.push(e.message));
		window.hashes = 0; addEventListener('hashchange', () => hashes++); location.hash = '%E0%A4%A'; return true })()`); err != nil {
		t.Fatal(err)
	}
	p.waitJS(5*time.Second, "the hashchange", `hashes === 1`)
	if errs, err := eval[[]string](p, `errors`); err != nil || len(errs) != 0 {
		t.Fatalf("the malformed fragment threw: %v (%v)", errs, err)
	}
	p.waitJS(2*time.Second, "random still open", `document.querySelector('[data-testid=room-title]').textContent === '# random'`)
}

func TestBrowserRoomNameErrorsNameTheCharacterTyped(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	p := b.open("ada", ada)
	join := func(name string) string {
		t.Helper()
		if _, err := eval[bool](p, `(() => { document.querySelector('[data-testid=join-input]').value = `+jsString(name)+`; return true })()`); err != nil {
			t.Fatal(err)
		}
		p.click(`[data-testid=join-button]`)
		p.waitJS(5*time.Second, "the join error", `!document.querySelector('#join-error').hidden`)
		msg, err := eval[string](p, `document.querySelector('#join-error').textContent`)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	if msg := join("Ünïcode-räum"); !strings.Contains(msg, "'Ü' (U+00DC) is not allowed") || strings.Contains(msg, "Ã") {
		t.Errorf("Ünïcode-räum: %q, want it to name 'Ü'", msg)
	}
	if msg := join(strings.Repeat("ä", 40) + strings.Repeat("a", 25)); !strings.Contains(msg, "got 65 characters") {
		t.Errorf("65 characters: %q, want them counted as 65", msg)
	}
	var rooms struct{ Rooms []struct{ Room string } }
	if ada.do("GET", "/v1/rooms", nil, &rooms); len(rooms.Rooms) != 0 {
		t.Errorf("a bad name joined a room: %+v", rooms.Rooms)
	}
}

func TestBrowserARefusedSendStaysEditableAndOffersNoRetry(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	ada.join("lobby")
	p := b.open("ada", ada)
	p.openRoom("lobby")

	// Too long: the page never sends it, and the text stays to be cut.
	if _, err := eval[bool](p, `(() => { const ta = document.querySelector('[data-testid=composer]');
		ta.value = 'x'.repeat(16001); ta.dispatchEvent(new Event('input')); return true })()`); err != nil {
		t.Fatal(err)
	}
	p.pressEnter()
	p.waitJS(5*time.Second, "the length error", `!document.querySelector('[data-testid=send-error]').hidden
		&& document.querySelector('[data-testid=send-error]').textContent.includes('16,000')`)
	if n, err := eval[int](p, `document.querySelector('[data-testid=composer]').value.length`); err != nil || n != 16001 {
		t.Errorf("the composer holds %d characters after a too-long send (%v), want the 16,001 to edit", n, err)
	}

	// Refused by the node for good (the room was left meanwhile): the text
	// comes back, with the reason and no Retry.
	if _, err := eval[bool](p, `(() => { const ta = document.querySelector('[data-testid=composer]'); ta.value = ''; ta.dispatchEvent(new Event('input')); return true })()`); err != nil {
		t.Fatal(err)
	}
	if st := ada.do("DELETE", "/v1/rooms/lobby", nil, nil); st != 204 {
		t.Fatalf("leave: %d", st)
	}
	p.typeText("still there?")
	p.pressEnter()
	p.waitJS(10*time.Second, "the refusal", `!document.querySelector('[data-testid=send-error]').hidden
		&& document.querySelector('[data-testid=send-error]').textContent.includes('not joined')`)
	if v, err := eval[string](p, `document.querySelector('[data-testid=composer]').value`); err != nil || v != "still there?" {
		t.Errorf("the composer holds %q after a refused send (%v), want the text back", v, err)
	}
	if n, err := eval[int](p, `document.querySelectorAll('[data-testid=retry]:not([hidden])').length`); err != nil || n != 0 {
		t.Errorf("%d Retry buttons offered for a send that cannot work (%v)", n, err)
	}
	if n, err := eval[int](p, `document.querySelectorAll('[data-testid=message][data-pending]').length`); err != nil || n != 0 {
		t.Errorf("%d pending messages left behind (%v)", n, err)
	}
}
