package private

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

var ctx = context.Background()

// createRoom makes a room owned by n and returns it with its invite link.
func createRoom(t *testing.T, n *node, opts CreateOptions) (string, string) {
	t.Helper()
	room, inv, err := n.p.Create(ctx, "family", opts)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := n.p.Room(room); !ok || info.Role != RoleOwner || info.Name != "family" || !info.Held {
		t.Fatalf("owner's view of its new room: %+v", info)
	}
	return room, inv.String()
}

// join has n ask to join with link and the owner let it in, each reading
// the relay's log only when its turn comes.
func join(t *testing.T, owner, n *node, link string) {
	t.Helper()
	if _, err := n.p.AcceptInvite(ctx, link, n.name); err != nil {
		t.Fatal(err)
	}
	owner.sync()
	n.sync()
	if !n.joined() {
		t.Fatalf("%s was not let in; refusals %v", n.name, n.refusals)
	}
}

func TestInviteeIsLetInAutomaticallyAndBothSidesRead(t *testing.T) {
	net := newNetwork()
	alice, bob := newNode(t, net, "alice"), newNode(t, net, "bob")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	join(t, alice, bob, link)
	if info, _ := bob.p.Room(room); info.Role != RoleMember || info.Name != "family" {
		t.Fatalf("bob's view: %+v", info)
	}
	bob.send(room, `{"text":"hi alice"}`)
	if got := alice.sync(); !slices.Contains(got, `{"text":"hi alice"}`) {
		t.Fatalf("alice read %q", got)
	}
	alice.send(room, `{"text":"hi bob"}`)
	if got := bob.sync(); !slices.Contains(got, `{"text":"hi bob"}`) {
		t.Fatalf("bob read %q", got)
	}
}

func TestJoinRequestWaitsForTheOwnersApproval(t *testing.T) {
	net := newNetwork()
	alice, bob := newNode(t, net, "alice"), newNode(t, net, "bob")
	room, link := createRoom(t, alice, CreateOptions{})
	if _, err := bob.p.AcceptInvite(ctx, link, "Bob"); err != nil {
		t.Fatal(err)
	}
	alice.sync()
	reqs, err := alice.p.Requests(room)
	if err != nil || len(reqs) != 1 || reqs[0].Peer != bob.id || reqs[0].Name != "Bob" {
		t.Fatalf("pending requests %+v, %v", reqs, err)
	}
	bob.sync()
	if bob.joined() {
		t.Fatal("bob let in before the owner approved")
	}
	// The request survives the owner's restart.
	alice.restart()
	alice.seen = len(net.entries(0))
	if err := alice.p.Approve(ctx, room, bob.id); err != nil {
		t.Fatal(err)
	}
	bob.sync()
	if !bob.joined() {
		t.Fatalf("bob not let in after approval: %v", bob.refusals)
	}
	if reqs, _ := alice.p.Requests(room); len(reqs) != 0 {
		t.Fatalf("request still pending: %+v", reqs)
	}
}

func TestRevokedAndExpiredInvitesLetNobodyIn(t *testing.T) {
	net := newNetwork()
	alice, bob, carol := newNode(t, net, "alice"), newNode(t, net, "bob"), newNode(t, net, "carol")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	inv, _ := sealed.ParseInvite(link)
	if err := alice.p.RevokeInvite(ctx, room, inv.IDString()); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.p.AcceptInvite(ctx, link, "Bob"); err != nil {
		t.Fatal(err)
	}
	alice.sync()
	if !errors.Is(lastRefusal(alice), ErrRevoked) || Reason(lastRefusal(alice)) != "invite_revoked" {
		t.Fatalf("revoked invite: %v", alice.refusals)
	}
	short, err := alice.p.Invite(ctx, room, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.p.AcceptInvite(ctx, short.String(), "Carol"); err != nil {
		t.Fatal(err)
	}
	net.advance(2 * time.Minute)
	alice.sync()
	if !errors.Is(lastRefusal(alice), sealed.ErrInviteExpired) {
		t.Fatalf("expired invite: %v", alice.refusals)
	}
	if _, err := carol.p.AcceptInvite(ctx, short.String(), "Carol"); !errors.Is(err, sealed.ErrInviteExpired) {
		t.Fatalf("joiner accepted an expired link: %v", err)
	}
	bob.sync()
	carol.sync()
	if bob.joined() || carol.joined() {
		t.Fatal("somebody joined with a revoked or expired invite")
	}
}

func TestRemovedMemberOpensNothingSentAfterItsRemoval(t *testing.T) {
	net := newNetwork()
	alice, bob, carol := newNode(t, net, "alice"), newNode(t, net, "bob"), newNode(t, net, "carol")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	join(t, alice, bob, link)
	join(t, alice, carol, link)
	bob.sync()
	if err := alice.p.Remove(ctx, room, carol.id); err != nil {
		t.Fatal(err)
	}
	alice.send(room, `{"text":"carol is gone"}`)
	if got := carol.sync(); len(got) != 0 {
		t.Fatalf("removed member read %q", got)
	}
	if !errors.Is(lastRefusal(carol), sealed.ErrNoKey) {
		t.Fatalf("removed member's refusal: %v", carol.refusals)
	}
	if !slices.ContainsFunc(carol.outcomes, func(o Outcome) bool { return o.Removed }) {
		t.Fatal("removal not reported to the removed member")
	}
	if _, err := carol.p.Send(ctx, room, []byte(`{"text":"x"}`)); !errors.Is(err, sealed.ErrNoKey) {
		t.Fatalf("removed member sealed in the new epoch: %v", err)
	}
	if got := bob.sync(); !slices.Contains(got, `{"text":"carol is gone"}`) {
		t.Fatalf("remaining member read %q", got)
	}
}

func TestKeyStateSurvivesARestart(t *testing.T) {
	net := newNetwork()
	alice, bob := newNode(t, net, "alice"), newNode(t, net, "bob")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	join(t, alice, bob, link)
	if err := alice.p.Rotate(ctx, room); err != nil {
		t.Fatal(err)
	}
	old := alice.send(room, `{"text":"before the restart"}`)
	bob.sync()
	alice.restart()
	bob.restart()
	if _, err := bob.p.Accept(ctx, old); err != nil {
		t.Fatalf("bob reopened an old message after his restart: %v", err)
	}
	if err := alice.p.Rotate(ctx, room); err != nil {
		t.Fatalf("owner rekeyed after its restart: %v", err)
	}
	bob.send(room, `{"text":"after the restart"}`)
	alice.seen = len(net.entries(0)) - 1
	if got := alice.sync(); !slices.Contains(got, `{"text":"after the restart"}`) {
		t.Fatalf("after restarts alice read %q (refusals %v)", got, alice.refusals)
	}
}

func TestJoinRequestAndApprovalCrossAStoreRelayWhileTheOtherSideIsOffline(t *testing.T) {
	net := newNetwork()
	alice, bob, relay := newNode(t, net, "alice"), newNode(t, net, "bob"), newNode(t, net, "relay")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	relay.sync()
	// Alice goes offline; Bob asks; the relay keeps the request.
	if _, err := bob.p.AcceptInvite(ctx, link, "Bob"); err != nil {
		t.Fatal(err)
	}
	relay.sync()
	// Bob goes offline; Alice comes back, reads the request, approves.
	alice.sync()
	relay.sync()
	alice.send(room, `{"text":"welcome"}`)
	relay.sync()
	// Bob comes back and reads everything from the relay's log.
	if got := bob.sync(); !bob.joined() || !slices.Contains(got, `{"text":"welcome"}`) {
		t.Fatalf("bob joined %v, read %q, refusals %v", bob.joined(), got, bob.refusals)
	}
	if len(relay.refusals) != 0 {
		t.Fatalf("relay refused honest traffic: %v", relay.refusals)
	}
	if _, ok := relay.p.Room(room); ok {
		t.Fatal("the relay counts itself a member")
	}
}

func TestRelayRefusesCiphertextFromNonMembersWithoutAnyKey(t *testing.T) {
	net := newNetwork()
	alice, mallory, relay := newNode(t, net, "alice"), newNode(t, net, "mallory"), newNode(t, net, "relay")
	room, _ := createRoom(t, alice, CreateOptions{})
	relay.sync()
	// Mallory knows the room and its epoch ID but holds no key.
	head := relay.p.rooms[room].chain.Head()
	fake := sealed.DeriveEpoch(room, 0, [sealed.SecretSize]byte{7})
	fake.ID = head.ID
	spam, err := mallory.Publish(ctx, protocol.KindSealedMessage, room, func(h sealed.Header) ([]byte, error) {
		return sealed.Seal(fake, h, []byte(`{"text":"spam"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = relay.p.Check(spam)
	if !errors.Is(err, sealed.ErrWriteSignature) || Ignore(err) || Reason(err) != "write_signature" {
		t.Fatalf("outsider's ciphertext at the relay: %v", err)
	}
	// An epoch change by anyone but the owner is refused the same way.
	forged, _ := mallory.Publish(ctx, protocol.KindSealedEpoch, room, func(sealed.Header) ([]byte, error) { return net.log[0].Body, nil })
	if err := relay.p.Check(forged); !errors.Is(err, sealed.ErrRoomBinding) || Ignore(err) {
		t.Fatalf("forged genesis at the relay: %v", err)
	}
}

func TestMessageArrivingBeforeItsEpochIsHeldAndOpenedWhenTheEpochComes(t *testing.T) {
	net := newNetwork()
	alice, bob := newNode(t, net, "alice"), newNode(t, net, "bob")
	room, link := createRoom(t, alice, CreateOptions{AutoApprove: true})
	join(t, alice, bob, link)
	if err := alice.p.Rotate(ctx, room); err != nil {
		t.Fatal(err)
	}
	m := alice.send(room, `{"text":"new epoch"}`)
	epoch := net.entries(len(net.entries(0)) - 2)[0]
	out, err := bob.p.Accept(ctx, m)
	if !out.Held || !errors.Is(err, sealed.ErrUnknownEpoch) || !Ignore(bob.p.Check(m)) {
		t.Fatalf("message before its epoch: held %v, %v", out.Held, err)
	}
	out, err = bob.p.Accept(ctx, epoch)
	if err != nil || len(out.Opened) != 1 || string(out.Opened[0].Plaintext) != `{"text":"new epoch"}` {
		t.Fatalf("epoch arrival opened %+v, %v", out.Opened, err)
	}
}

func TestDirectRoomNeedsNoExchangeBeyondBothSidesOpeningIt(t *testing.T) {
	net := newNetwork()
	alice, bob := newNode(t, net, "alice"), newNode(t, net, "bob")
	ra, err := alice.p.DM(ctx, bob.id)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := bob.p.DM(ctx, alice.id)
	if err != nil || ra != rb {
		t.Fatalf("rooms %s and %s, %v", ra, rb, err)
	}
	alice.send(ra, `{"text":"psst"}`)
	if got := bob.sync(); !slices.Contains(got, `{"text":"psst"}`) {
		t.Fatalf("bob read %q (refusals %v)", got, bob.refusals)
	}
	if info, ok := bob.p.Room(rb); !ok || info.Role != RoleDM || info.DMPeer != alice.id {
		t.Fatalf("bob's view of the direct room: %+v", info)
	}
}

func lastRefusal(n *node) error {
	if len(n.refusals) == 0 {
		return nil
	}
	return n.refusals[len(n.refusals)-1]
}
