package api

import (
	"testing"
	"time"
)

// readsLeftToRight is a JS test: in the first element matching sel, the
// first text node holding s shows s's first character left of its last,
// as English reads. A bidi override leaking in from user text reverses it.
func readsLeftToRight(sel, s string) string {
	return `(() => {
		const el = document.querySelector(` + jsString(sel) + `);
		if (!el) return false;
		const s = ` + jsString(s) + `;
		const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
		for (let n; (n = walk.nextNode()); ) {
			const i = n.data.indexOf(s);
			if (i < 0) continue;
			const at = (k) => { const r = document.createRange(); r.setStart(n, k); r.setEnd(n, k + 1); return r.getBoundingClientRect().left; };
			return at(i) < at(i + s.length - 1);
		}
		return false;
	})()`
}

// TestBrowserBidiControlsInUserTextStayInsideIt: a peer named with a
// right-to-left override (U+202E) that it never closes cannot reverse the
// UI's own words around its name: "is typing…" on another page, "(you)"
// in the members on its own page, still read left to right. Its message,
// which starts with one, is isolated too.
func TestBrowserBidiControlsInUserTextStayInsideIt(t *testing.T) {
	b := newBrowser(t)
	ada := startUINode(t, "ada", Options{})
	mallory := startUINode(t, "\u202emallory", Options{}, ada)
	ada.join("lobby")
	mallory.join("lobby")
	waitFor(t, 15*time.Second, "the room's mesh", func() bool { return ada.roomPeers("lobby") == 1 && mallory.roomPeers("lobby") == 1 })
	pa := b.open("ada", ada)
	pm := b.open("mallory", mallory)
	pa.openRoom("lobby")
	pm.openRoom("lobby")

	mallory.send("lobby", "\u202eexe.gnp", "")
	pa.waitJS(10*time.Second, "mallory's message", msgShown("\u202eexe.gnp"))
	for _, sel := range []string{"[data-testid=message-text]", ".author"} {
		if ok, err := eval[bool](pa, `[...document.querySelectorAll(`+jsString(sel)+`)].every(e => getComputedStyle(e).unicodeBidi === 'isolate')`); err != nil || !ok {
			t.Errorf("%s is not isolated (%v)", sel, err)
		}
	}

	if st := mallory.do("POST", "/v1/rooms/lobby/typing", nil, nil); st != 200 {
		t.Fatalf("typing: %d", st)
	}
	pa.waitJS(10*time.Second, "mallory typing", typingShows("mallory"))
	pa.waitJS(2*time.Second, `"is typing" reading left to right`, readsLeftToRight("[data-testid=typing]", "is typing"))
	pa.screenshot("ada-bidi")
	pm.waitJS(10*time.Second, `"(you)" reading left to right on mallory's page`, readsLeftToRight("[data-testid=member]", "you"))
}
