package sealed

import (
	"errors"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

func TestEpochChangeByAMemberIsRefused(t *testing.T) {
	owner, bob := newIdent(t, "owner"), newIdent(t, "bob")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	// Bob signs a record the owner built: the content is fine, the author is not.
	forged := sign(t, bob, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Rotate()))
	relay := NewChainFrom(t, g)
	if _, _, err := relay.AdmitEpoch(forged); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("member's epoch: %v, want ErrNotOwner", err)
	}
}

func TestGenesisNotHashingToTheRoomIsRefused(t *testing.T) {
	owner, mallory := newIdent(t, "owner"), newIdent(t, "mallory")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	// Mallory publishes the owner's genesis body as her own.
	stolen := sign(t, mallory, &c, protocol.KindSealedEpoch, ko.Room(), g.Body)
	if _, _, err := NewChain(ko.Room()).AdmitEpoch(stolen); !errors.Is(err, ErrRoomBinding) {
		t.Fatalf("stolen genesis: %v, want ErrRoomBinding", err)
	}
}

func TestSecondEpochOfTheSameNumberIsAForkAndTheFirstIsKept(t *testing.T) {
	owner := newIdent(t, "owner")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	first := sign(t, owner, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Rotate()))
	second := sign(t, owner, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Rotate()))
	relay := NewChainFrom(t, g, first)
	if _, _, err := relay.AdmitEpoch(second); !errors.Is(err, ErrFork) {
		t.Fatalf("second epoch 1: %v, want ErrFork", err)
	}
	if relay.Head().ID != mustRecord(t, first).ID {
		t.Fatal("the fork replaced the first epoch")
	}
	if _, fresh, err := relay.AdmitEpoch(first); err != nil || fresh {
		t.Fatalf("a copy of an admitted epoch: fresh %v, %v", fresh, err)
	}
}

func TestEpochWithAnUnknownParentIsHeldNotRefused(t *testing.T) {
	owner := newIdent(t, "owner")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	e1 := sign(t, owner, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Rotate()))
	admit(t, e1, ko)
	e2 := sign(t, owner, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Rotate()))
	relay := NewChainFrom(t, g)
	if _, _, err := relay.AdmitEpoch(e2); !errors.Is(err, ErrUnknownParent) {
		t.Fatalf("epoch 2 before 1: %v, want ErrUnknownParent", err)
	}
	if _, _, err := NewChain(ko.Room()).AdmitEpoch(e1); !errors.Is(err, ErrUnknownParent) {
		t.Fatalf("epoch 1 before the genesis: %v, want ErrUnknownParent", err)
	}
	for _, e := range []*protocol.Envelope{e1, e2} {
		if _, _, err := relay.AdmitEpoch(e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMessageOfAnUnknownEpochIsIgnoredUntilItsEpochArrives(t *testing.T) {
	owner := newIdent(t, "owner")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	m := send(t, ko, owner, &c, "early")
	relay := NewChain(ko.Room())
	if _, err := relay.CheckWrite(m); !errors.Is(err, ErrUnknownEpoch) {
		t.Fatalf("before the genesis: %v, want ErrUnknownEpoch", err)
	}
	if _, _, err := relay.AdmitEpoch(g); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.CheckWrite(m); err != nil {
		t.Fatalf("after the genesis: %v", err)
	}
}

func mustRecord(t testing.TB, e *protocol.Envelope) *Record {
	t.Helper()
	r, err := DecodeRecord(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSuccessorNamesTheEpochThatSupersedesAnother(t *testing.T) {
	owner := newIdent(t, "owner")
	var c clock
	ko, g := ownedRoom(t, owner, &c, HistoryFromJoin)
	e1 := sign(t, owner, &c, protocol.KindSealedEpoch, ko.Room(), must(ko.Rotate()))
	relay := NewChainFrom(t, g)
	gid := mustRecord(t, g).ID
	if _, ok := relay.Successor(gid); ok {
		t.Fatal("the head has a successor")
	}
	if _, _, err := relay.AdmitEpoch(e1); err != nil {
		t.Fatal(err)
	}
	if next, ok := relay.Successor(gid); !ok || next.ID != mustRecord(t, e1).ID {
		t.Fatalf("successor of the genesis: %v", next)
	}
}
