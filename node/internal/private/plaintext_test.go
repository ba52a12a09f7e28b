package private

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

func canary(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// storeAll stores what n's sync brought as a store relay's intake would:
// every envelope in its room's history, a sealed one under a stub with no
// text, a public one with its message.
func storeAll(t *testing.T, n *node) {
	t.Helper()
	for _, e := range n.net.entries(0) {
		msg := protocol.SealedStub(e)
		if e.Kind == protocol.KindMessage {
			var err error
			if msg, err = protocol.MessageFromEnvelope(e); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := n.st.AddMessage(ctx, e, msg); err != nil {
			t.Fatal(err)
		}
	}
}

// findIn reports which of needles occur in any key or value of the
// Pebble database in dir (read with Pebble itself, since blocks on disk
// are compressed) or in any byte of its files.
func findIn(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	hit := func(b []byte, where string) {
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found = append(found, where+": "+n[:8])
			}
		}
	}
	for ok := it.First(); ok; ok = it.Next() {
		hit(it.Key(), "key")
		hit(it.Value(), "value of "+string(it.Key()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		hit(b, "file "+d.Name())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestStoreRelayHoldsNoPlaintextOfAPrivateRoomButDoesOfAPublicOne(t *testing.T) {
	net := newNetwork()
	alice, bob, relay := newNode(t, net, "alice"), newNode(t, net, "bob"), newNode(t, net, "relay")
	text, name, joiner := canary(t), canary(t), canary(t)
	room, inv, err := alice.p.Create(ctx, "family "+name, CreateOptions{AutoApprove: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.p.AcceptInvite(ctx, inv.String(), "bob "+joiner); err != nil {
		t.Fatal(err)
	}
	alice.sync()
	bob.sync()
	bob.send(room, `{"text":"`+text+`","name":"bob `+joiner+`"}`)
	alice.send(room, `{"text":"`+text+`"}`)
	if err := alice.p.Remove(ctx, room, bob.id); err != nil {
		t.Fatal(err)
	}
	alice.send(room, `{"text":"`+text+` again"}`)
	relay.sync()
	if len(relay.refusals) != 0 {
		t.Fatalf("relay refused %v", relay.refusals)
	}
	storeAll(t, relay)
	// The members do read the texts the relay must not hold.
	if got := alice.sync(); len(got) == 0 {
		t.Fatal("alice opened nothing")
	}
	relay.st.Close()
	if found := findIn(t, relay.dir, text, name, joiner); len(found) != 0 {
		t.Fatalf("the relay's data holds plaintext: %v", found)
	}

	// The same relay check on a public room finds the text.
	pub := newNode(t, newNetwork(), "public relay")
	e, err := pub.Publish(ctx, protocol.KindMessage, "general", func(sealed.Header) ([]byte, error) {
		return []byte(`{"text":"` + text + `"}`), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := protocol.MessageFromEnvelope(e)
	if _, err := pub.st.AddMessage(ctx, e, msg); err != nil {
		t.Fatal(err)
	}
	pub.st.Close()
	if found := findIn(t, pub.dir, text); len(found) == 0 {
		t.Fatal("the check finds no plaintext even in a public room")
	}
}
