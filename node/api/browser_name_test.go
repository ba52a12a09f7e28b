package api

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTheDisplayNameIsSetFromTheUI: Ada renames herself from her
// page; Bob's page shows the new name among the members within a few
// seconds (it is announced, not left to the next renewal) and on her next
// message. A name the node refuses says why, and changes nothing.
func TestBrowserTheDisplayNameIsSetFromTheUI(t *testing.T) {
	b := newBrowser(t)
	ada, bob, pa := meshed(t, b)
	pb := b.open("bob", bob)
	pb.openRoom("lobby")
	adaID := ada.node.ID().String()
	pb.waitJS(20*time.Second, "ada among bob's members", memberIs(adaID, "online"))

	setName := func(name string) {
		t.Helper()
		pa.click(`[data-testid=me]`)
		pa.waitJS(5*time.Second, "the name form", `!document.querySelector('[data-testid=name-form]').hidden
			&& document.activeElement === document.querySelector('[data-testid=name-input]')
			&& document.querySelector('[data-testid=me]').getAttribute('aria-expanded') === 'true'`)
		if _, err := eval[bool](pa, `(() => { document.querySelector('[data-testid=name-input]').value = ''; return true })()`); err != nil {
			t.Fatal(err)
		}
		if err := pa.do(10*time.Second, chromedp.SendKeys(chromedp.CSS(`[data-testid=name-input]`), name)); err != nil {
			t.Fatal(err)
		}
		pa.click(`[data-testid=name-save]`)
	}

	// Too long: refused, with the reason, and the form stays to edit.
	setName(strings.Repeat("n", 65))
	pa.waitJS(5*time.Second, "the refusal", `(() => { const e = document.querySelector('[data-testid=name-error]');
		return !e.hidden && e.textContent.includes('limit is 64') })()`)
	if got, _ := eval[string](pa, `document.querySelector('[data-testid=me]').textContent`); got != "ada" {
		t.Errorf("after a refused name the page shows %q", got)
	}
	pa.click(`#name-cancel`)

	renamed := time.Now()
	setName("Ada Lovelace")
	pa.waitJS(5*time.Second, "the new name on ada's page", `document.querySelector('[data-testid=me]').textContent === 'Ada Lovelace'
		&& document.querySelector('[data-testid=name-form]').hidden`)
	pb.waitJS(5*time.Second, "the new name among bob's members", `document.querySelector('[data-testid=member][data-peer-id="`+adaID+`"]').textContent.includes('Ada Lovelace')`)
	t.Logf("bob's page shows the new name %s after ada saved it", time.Since(renamed).Round(time.Millisecond))
	pa.typeText("it is me, renamed")
	pa.pressEnter()
	pb.waitJS(10*time.Second, "ada's message under her new name", `[...document.querySelectorAll('[data-testid=message][data-own=false]')].some(m =>
		m.textContent.includes('it is me, renamed') && m.querySelector('.author').textContent === 'Ada Lovelace')`)

	// The node keeps it: a reload shows it, as GET /v1/node does.
	if err := pa.do(20*time.Second, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	pa.waitJS(10*time.Second, "the name after a reload", `document.querySelector('[data-testid=me]').textContent === 'Ada Lovelace'`)
}
