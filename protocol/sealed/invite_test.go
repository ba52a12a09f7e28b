package sealed

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

func testInvite(t testing.TB, r *room, expires time.Time) *Invite {
	t.Helper()
	inv, err := NewInvite(r.ko.Room(), r.owner.id, r.owner.kem.PublicKey().Bytes(), expires, "/ip4/127.0.0.1/tcp/4001")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestInviteLinkRoundTripsAndExpires(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	inv := testInvite(t, r, testEpoch.Add(time.Hour))
	link := inv.String()
	if !strings.HasPrefix(link, InvitePrefix+r.ko.Room()+"#") {
		t.Fatalf("link %s", link)
	}
	got, err := ParseInvite(link)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != link || got.ID() != inv.ID() || got.Owner != r.owner.id {
		t.Fatalf("round trip: %+v", got)
	}
	if err := got.Check(testEpoch); err != nil {
		t.Fatal(err)
	}
	if err := got.Check(testEpoch.Add(time.Hour)); !errors.Is(err, ErrInviteExpired) {
		t.Fatalf("expired invite: %v", err)
	}
	for _, bad := range []string{"", " " + link, "peerchat://join/general#AA", link[:len(link)-2], strings.Replace(link, "pv1-", "pv2-", 1), link + "A"} {
		if _, err := ParseInvite(bad); !errors.Is(err, ErrInvite) {
			t.Errorf("%q: %v, want ErrInvite", bad, err)
		}
	}
}

func TestJoinRequestOpensOnlyForTheOwnerWithTheInvitesCode(t *testing.T) {
	r := newRoom(t, HistoryFromJoin)
	inv := testInvite(t, r, testEpoch.Add(time.Hour))
	dave, mallory := newIdent(t, "dave"), newIdent(t, "mallory")
	var c clock
	body, err := NewJoin(inv, dave.id, dave.kem.PublicKey().Bytes(), "Dave")
	if err != nil {
		t.Fatal(err)
	}
	e := sign(t, dave, &c, protocol.KindSealedJoin, inv.Room, body)
	if id, err := ParseJoinID(e.Body); err != nil || id != inv.ID() {
		t.Fatalf("relay read of the invite ID: %v", err)
	}
	req, err := OpenJoin(inv, r.owner.kem, e)
	if err != nil || req.Peer != dave.id || req.Name != "Dave" {
		t.Fatalf("owner opened %+v, %v", req, err)
	}
	// The owner lets Dave in with the KEM key from his request.
	admit(t, r.publish(r.ko.Add(Member{Peer: req.Peer, KEM: req.KEM})))
	kd := NewKeyring(r.ko.Room(), dave.id, dave.kem)
	r.sync(kd)
	if _, ok := kd.HeadKeys(); !ok {
		t.Fatal("joiner does not hold the epoch that added it")
	}

	// Mallory re-signs Dave's request as her own: it does not open.
	stolen := sign(t, mallory, &c, protocol.KindSealedJoin, inv.Room, body)
	if _, err := OpenJoin(inv, r.owner.kem, stolen); !errors.Is(err, ErrJoin) {
		t.Fatalf("re-signed request: %v", err)
	}
	// Mallory knows the room and the owner's key but not the code.
	guess := *inv
	guess.Code[0] ^= 1
	forged, _ := NewJoin(&guess, mallory.id, mallory.kem.PublicKey().Bytes(), "M")
	fe := sign(t, mallory, &c, protocol.KindSealedJoin, inv.Room, forged)
	if _, err := OpenJoin(inv, r.owner.kem, fe); !errors.Is(err, ErrJoin) {
		t.Fatalf("request without the code: %v", err)
	}
}
