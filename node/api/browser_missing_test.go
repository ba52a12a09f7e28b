package api

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// What a new user missed in the UI (issue 21), one test each, each
// failing before the feature: a "new messages below" cue, safe links,
// long messages folded, #room links that offer to join, and one's own
// address to copy. The offline state is in browser_offline_test.go.

// meshed starts ada and bob in lobby, with ada's page open on it.
func meshed(t *testing.T, b *browser) (ada, bob *apiNode, p *uiPage) {
	t.Helper()
	ada = startUINode(t, "ada", Options{})
	bob = startUINode(t, "bob", Options{}, ada)
	ada.join("lobby")
	bob.join("lobby")
	waitFor(t, 15*time.Second, "the room's mesh", func() bool { return ada.roomPeers("lobby") == 1 && bob.roomPeers("lobby") == 1 })
	p = b.open("ada", ada)
	p.openRoom("lobby")
	return ada, bob, p
}

func TestBrowserANewMessageBelowTheViewShowsACue(t *testing.T) {
	b := newBrowser(t)
	ada, bob, p := meshed(t, b)
	for i := 1; i <= 40; i++ {
		ada.send("lobby", fmt.Sprintf("line %02d", i), "")
	}
	p.waitJS(10*time.Second, "the history", msgShown("line 40"))
	// The user scrolls up to read; a message arrives at the end.
	p.waitJS(5*time.Second, "the list scrolled up", `(() => { const b = document.querySelector('[data-testid=messages]');
		b.scrollTop = 0; return b.scrollHeight > b.clientHeight + 200 && b.scrollTop === 0 })()`)
	bob.send("lobby", "are you there?", "")
	p.waitJS(10*time.Second, "bob's message", msgShown("are you there?"))
	p.waitJS(5*time.Second, "the cue", `(() => { const c = document.querySelector('[data-testid=new-below]');
		return !c.hidden && c.textContent.includes('1 new message below') && c.getBoundingClientRect().height > 0 })()`)
	if top, err := eval[float64](p, `document.querySelector('[data-testid=messages]').scrollTop`); err != nil || top > 1 {
		t.Errorf("the list moved to %.0f px while the user read older messages (%v)", top, err)
	}
	bob.send("lobby", "hello?", "")
	p.waitJS(10*time.Second, "the cue counts two", `document.querySelector('[data-testid=new-below]').textContent.includes('2 new messages below')`)
	p.screenshot("ada-new-below")
	p.click(`[data-testid=new-below]`)
	p.waitJS(5*time.Second, "the end of the list, and no cue", `(() => { const b = document.querySelector('[data-testid=messages]');
		return b.scrollHeight - b.scrollTop - b.clientHeight < 48 && document.querySelector('[data-testid=new-below]').hidden })()`)

	// At the end of the list a new message shows with no cue.
	bob.send("lobby", "there you are", "")
	p.waitJS(10*time.Second, "the next message", msgShown("there you are"))
	if hidden, err := eval[bool](p, `document.querySelector('[data-testid=new-below]').hidden`); err != nil || !hidden {
		t.Errorf("the cue shows while the user is at the end of the list (%v)", err)
	}
}

func TestBrowserLinksInMessagesAreSafe(t *testing.T) {
	b := newBrowser(t)
	ada, bob, p := meshed(t, b)
	_ = ada
	const text = `Docs: https://example.com/wiki/Go_(lang). Mail mailto:bob@example.com, or see http://example.org/a?b=1&c=2! ` +
		`Not these: javascript:alert(1) data:text/html,<b>x</b> file:///etc/passwd vbscript:x <img src=x onerror=alert(1)> https:// ` +
		`and #random, but not a#b.`
	bob.send("lobby", text, "")
	p.waitJS(10*time.Second, "bob's message", msgShown(text))
	type link struct{ Text, Href, Rel, Target string }
	links, err := eval[[]link](p, `[...document.querySelectorAll('[data-testid=message-text] a')].map(a => ({Text: a.textContent, Href: a.getAttribute('href'), Rel: a.rel, Target: a.target}))`)
	if err != nil {
		t.Fatal(err)
	}
	want := []link{
		{"https://example.com/wiki/Go_(lang)", "https://example.com/wiki/Go_(lang)", "noopener noreferrer nofollow", "_blank"},
		{"mailto:bob@example.com", "mailto:bob@example.com", "noopener noreferrer nofollow", "_blank"},
		{"http://example.org/a?b=1&c=2", "http://example.org/a?b=1&c=2", "noopener noreferrer nofollow", "_blank"},
		{"#random", "#random", "", ""},
	}
	if !slices.Equal(links, want) {
		t.Errorf("links = %+v\nwant %+v", links, want)
	}
	// Nothing else became an element: the text reads as it was sent.
	if n, err := eval[int](p, `document.querySelectorAll('[data-testid=message-text] :not(a)').length`); err != nil || n != 0 {
		t.Errorf("%d elements other than links in the message (%v)", n, err)
	}
	if got, err := eval[string](p, `[...document.querySelectorAll('[data-testid=message-text]')].at(-1).textContent`); err != nil || got != text {
		t.Errorf("the message reads %q (%v), want it as sent", got, err)
	}
}

func TestBrowserALongMessageIsFoldedWithShowMore(t *testing.T) {
	b := newBrowser(t)
	ada, bob, p := meshed(t, b)
	_ = ada
	long := strings.Repeat("All work and no play makes Jack a dull boy. ", 230)[:10000]
	bob.send("lobby", long, "")
	bob.send("lobby", "short one", "")
	p.waitJS(10*time.Second, "the messages", msgShown("short one"))
	height := `[...document.querySelectorAll('[data-testid=message]')].find(e => e.textContent.includes('Jack')).querySelector('.bubble').getBoundingClientRect().height`
	if h, err := eval[float64](p, height); err != nil || h > 400 {
		t.Errorf("the 10,000-character message is %.0f px tall (%v), want it folded under 400", h, err)
	}
	if n, err := eval[int](p, `document.querySelectorAll('[data-testid=show-more]').length`); err != nil || n != 1 {
		t.Errorf("%d Show more buttons (%v), want one, on the long message only", n, err)
	}
	p.waitJS(2*time.Second, "Show more, not expanded", `document.querySelector('[data-testid=show-more]').getAttribute('aria-expanded') === 'false'`)
	p.click(`[data-testid=show-more]`)
	p.waitJS(5*time.Second, "the message unfolded", `(() => { const b = document.querySelector('[data-testid=show-more]');
		return b.getAttribute('aria-expanded') === 'true' && b.textContent === 'Show less' && `+height+` > 1000 })()`)
	p.click(`[data-testid=show-more]`)
	p.waitJS(5*time.Second, "the message folded again", height+` < 400`)
}

func TestBrowserALinkToAnUnjoinedRoomOffersToJoin(t *testing.T) {
	b := newBrowser(t)
	ada, bob, p := meshed(t, b)
	ada.join("random")
	bob.send("lobby", "come to #garden, or #random", "")
	p.waitJS(10*time.Second, "bob's message", msgShown("come to #garden, or #random"))

	// A joined room opens at once.
	p.click(`[data-testid=room-link][data-room=random]`)
	p.waitJS(5*time.Second, "random open", `document.querySelector('[data-testid=room-title]').textContent === '# random'`)
	// Back by the address (a click on the rooms list can race its redraw).
	p.waitJS(5*time.Second, "lobby open again", `(() => { if (location.hash !== '#lobby') location.hash = '#lobby';
		return document.querySelector('[data-testid=room-title]').textContent === '# lobby' && document.querySelector('[data-testid=room-link][data-room=garden]') })()`)

	// An unjoined one is offered, and joined only when the user says so.
	p.click(`[data-testid=room-link][data-room=garden]`)
	p.waitJS(5*time.Second, "the offer to join garden", `(() => { const o = document.querySelector('[data-testid=join-offer]');
		return !o.hidden && o.textContent.includes('garden') })()`)
	if ada.roomPeers("garden") != -1 {
		t.Fatal("the link joined garden before the user accepted")
	}
	p.screenshot("ada-join-offer")
	p.click(`[data-testid=join-offer-yes]`)
	p.waitJS(10*time.Second, "garden open", `document.querySelector('[data-testid=room-title]').textContent === '# garden'
		&& document.querySelector('[data-testid=join-offer]').hidden`)
	if ada.roomPeers("garden") == -1 {
		t.Error("garden is open but the node has not joined it")
	}

	// An address with an unjoined #room offers it too, from the start;
	// "Not now" leaves it.
	if err := p.do(10*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(ada.srv.URL+"/#attic")); err != nil {
		t.Fatal(err)
	}
	p.waitJS(10*time.Second, "the offer to join attic", `!document.querySelector('[data-testid=join-offer]').hidden
		&& document.querySelector('[data-testid=join-offer]').textContent.includes('attic')`)
	p.click(`[data-testid=join-offer-no]`)
	p.waitJS(5*time.Second, "the offer gone", `document.querySelector('[data-testid=join-offer]').hidden && !location.hash.includes('attic')`)
	if ada.roomPeers("attic") != -1 {
		t.Error("Not now joined attic")
	}
}

func TestBrowserOnesOwnAddressShowsWithACopyButton(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	p := b.open("ada", ada)
	var addrs []string
	for _, a := range ada.node.Addrs() {
		addrs = append(addrs, a.String())
	}
	shown, err := eval[string](p, `document.querySelector('[data-testid=address-text]').textContent`)
	if err != nil || !slices.Contains(addrs, shown) || !strings.Contains(shown, "/p2p/"+ada.node.ID().String()) {
		t.Fatalf("the page shows the address %q (%v), want one of the node's %v, with its peer ID", shown, err, addrs)
	}
	if hidden, err := eval[bool](p, `document.querySelector('[data-testid=address]').hidden`); err != nil || hidden {
		t.Fatalf("the address is hidden (%v)", err)
	}
	// No relay here: the listen address is shown, and said to be one.
	if hint, _ := eval[string](p, `document.querySelector('#address-hint').textContent`); !strings.Contains(hint, "listens") {
		t.Errorf("the hint says %q, want it to say this is a listen address", hint)
	}

	// With a relay reservation, the address through the relay comes first,
	// then other machines' addresses, loopback last. (The nodes here have
	// no relay: the order is checked on the module itself.)
	order, err := eval[[]string](p, `import('/views/address.js').then(m => m.bestAddresses([
		'/ip4/127.0.0.1/tcp/4001/p2p/A', '/ip4/192.168.1.5/tcp/4001/p2p/A',
		'/ip4/203.0.113.7/tcp/4001/p2p/R/p2p-circuit/p2p/A', '/ip6/::1/tcp/4001/p2p/A']))`)
	if want := []string{"/ip4/203.0.113.7/tcp/4001/p2p/R/p2p-circuit/p2p/A", "/ip4/192.168.1.5/tcp/4001/p2p/A",
		"/ip4/127.0.0.1/tcp/4001/p2p/A", "/ip6/::1/tcp/4001/p2p/A"}; err != nil || !slices.Equal(order, want) {
		t.Errorf("addresses ordered %v (%v), want %v", order, err, want)
	}

	bc := chromedp.FromContext(p.ctx).BrowserContextID
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(p.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: ada.srv.URL, BrowserContextID: bc,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	p.click(`[data-testid=copy-address]`)
	p.waitJS(5*time.Second, "Copied", `document.querySelector('[data-testid=copy-address]').textContent === 'Copied'`)
	if got, err := eval[string](p, `navigator.clipboard.readText()`); err != nil || got != shown {
		t.Errorf("the clipboard holds %q (%v), want %q", got, err, shown)
	}
}
