package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

// memberName is the name b shows for a in room, or "".
func memberName(t *testing.T, b, a *Node, room string) string {
	t.Helper()
	members, err := b.Members(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.PeerID == a.ID().String() {
			return m.Name
		}
	}
	return ""
}

// TestSetNameIsAnnouncedUsedAndKept: a new name reaches a room's members
// at once (well before the next presence renewal), goes with the messages
// and typing signals sent after it, shows in the node's own event log, and
// is used again at the next start with no --name; an explicit name at
// start wins over it.
func TestSetNameIsAnnouncedUsedAndKept(t *testing.T) {
	dir := t.TempDir()
	noName := func(c *Config) { c.Name = "" }
	a := testNode(t, dir, noName)
	if a.NameFromConfig() {
		t.Error("NameFromConfig with no name given")
	}
	b := testNode(t, "", bootstrapFrom(a))
	mustJoin(t, "lobby", a, b)
	waitFor(t, 15*time.Second, "the mesh", func() bool { return roomPeers(a, "lobby") == 1 && roomPeers(b, "lobby") == 1 })
	waitFor(t, 15*time.Second, "b to know a", func() bool { return memberName(t, b, a, "lobby") != "" })

	since := a.LastSeq()
	set := time.Now()
	if err := a.SetName(context.Background(), "  Ada Lovelace  "); err != nil {
		t.Fatal(err)
	}
	if got := a.Name(); got != "Ada Lovelace" {
		t.Errorf("Name() = %q after SetName, want it trimmed", got)
	}
	// Well under PresenceEvery (7 s): the name was announced, not renewed.
	waitFor(t, 3*time.Second, "b to show the new name", func() bool { return memberName(t, b, a, "lobby") == "Ada Lovelace" })
	t.Logf("the new name reached b %s after SetName", time.Since(set).Round(time.Millisecond))
	if evs := eventsOf(t, a, since, protocol.EventPresence); len(evs) == 0 || evs[len(evs)-1].Name != "Ada Lovelace" ||
		evs[len(evs)-1].PeerID != a.ID().String() {
		t.Errorf("a's own presence events after SetName: %+v, want one with the new name", evs)
	}
	if got := memberName(t, a, a, "lobby"); got != "Ada Lovelace" {
		t.Errorf("a lists itself as %q", got)
	}
	m := mustSend(t, a, "lobby", "hello under my new name")
	if m.AuthorName != "Ada Lovelace" {
		t.Errorf("a message after SetName carries the name %q", m.AuthorName)
	}
	waitFor(t, 10*time.Second, "the message on b", func() bool {
		h, _, _ := b.History(context.Background(), "lobby", "", 10)
		return len(h) > 0 && h[len(h)-1].AuthorName == "Ada Lovelace"
	})
	if data, err := os.ReadFile(filepath.Join(dir, NameFile)); err != nil || strings.TrimSpace(string(data)) != "Ada Lovelace" {
		t.Errorf("the data folder keeps %q (%v)", data, err)
	}

	// Restarted with no name: the saved one. With --name: that one.
	a.Close()
	a2 := testNode(t, dir, noName)
	if got := a2.Name(); got != "Ada Lovelace" {
		t.Errorf("after a restart with no name, Name() = %q, want the saved one", got)
	}
	a2.Close()
	a3 := testNode(t, dir, func(c *Config) { c.Name = "from-the-flag" })
	if got := a3.Name(); got != "from-the-flag" || !a3.NameFromConfig() {
		t.Errorf("after a restart with a name given, Name() = %q (from config %v), want the given one", got, a3.NameFromConfig())
	}
}

func TestSetNameRefusesWhatIsNotAName(t *testing.T) {
	n := testNode(t, "")
	before := n.Name()
	for _, bad := range []string{"", "   ", strings.Repeat("x", 65), "two\nlines", "tab\there", "\u202Eexe.gnp", "nul\x00", "bad \xff utf-8"} {
		err := n.SetName(context.Background(), bad)
		if err == nil || ErrorCode(err) != CodeInvalid {
			t.Errorf("SetName(%q) = %v, want an invalid-input error", bad, err)
			continue
		}
		t.Logf("SetName(%q): %v", bad, err)
	}
	if n.Name() != before {
		t.Errorf("a refused name changed the name to %q", n.Name())
	}
	if err := n.SetName(context.Background(), strings.Repeat("ä", 64)); err != nil {
		t.Errorf("64 characters (128 bytes) refused: %v", err)
	}
}
