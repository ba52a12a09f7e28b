package sealed

import (
	"errors"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"pgregory.net/rapid"

	"github.com/peerchat/peerchat/protocol"
)

// propMessage is a message sent in the property test with what the model
// expects of it.
type propMessage struct {
	env    *protocol.Envelope
	epoch  uint64
	author peer.ID
}

// TestMemberOpensAMessageExactlyWhenItHeldItsEpoch runs random adds,
// removes, rotations, KEM key rotations, sends by members who may be
// offline (and so write in an old epoch), and syncs. At the end everyone syncs, and each
// keyring must open a message exactly when the model says its owner held
// that message's epoch and the message is valid (not written by a removed
// member after its cutoff).
func TestMemberOpensAMessageExactlyWhenItHeldItsEpoch(t *testing.T) {
	pool := make([]*ident, 5)
	for i := range pool {
		pool[i] = newIdent(t, fmt.Sprintf("member-%d", i))
	}
	rapid.Check(t, func(rt *rapid.T) {
		history := rapid.SampledFrom([]History{HistoryFromJoin, HistoryShared}).Draw(rt, "history")
		r := newRoom(t, history)
		rings := map[peer.ID]*Keyring{r.owner.id: r.ko}
		idents := map[peer.ID]*ident{r.owner.id: r.owner}
		synced := map[peer.ID]int{r.owner.id: 1} // epochs delivered so far
		members := map[peer.ID]bool{r.owner.id: true}
		held := map[peer.ID]map[uint64]bool{r.owner.id: {0: true}}
		removedAt := map[peer.ID][]cutoff{}
		var head uint64
		var msgs []propMessage

		syncOne := func(id peer.ID) {
			for _, e := range r.epochs[synced[id]:] {
				if _, err := rings[id].AdmitEpoch(e); err != nil {
					rt.Fatalf("sync of %s: %v", id, err)
				}
			}
			synced[id] = len(r.epochs)
		}
		publish := func(body []byte, err error) {
			if err != nil {
				rt.Fatal(err)
			}
			e := sign(t, r.owner, &r.c, protocol.KindSealedEpoch, r.ko.Room(), body)
			if _, err := r.ko.AdmitEpoch(e); err != nil {
				rt.Fatal(err)
			}
			r.epochs = append(r.epochs, e)
			synced[r.owner.id] = len(r.epochs)
			head++
			held[r.owner.id][head] = true
			for id := range members {
				held[id][head] = true
			}
		}

		rt.Repeat(map[string]func(*rapid.T){
			"add": func(rt *rapid.T) {
				p := rapid.SampledFrom(pool).Draw(rt, "joiner")
				if members[p.id] {
					rt.Skip("already a member")
				}
				if rings[p.id] == nil {
					rings[p.id], idents[p.id] = NewKeyring(r.ko.Room(), p.id, p.kem), p
					held[p.id] = map[uint64]bool{}
				}
				if history == HistoryShared {
					for n := uint64(0); n <= head; n++ {
						held[p.id][n] = true
					}
				}
				members[p.id] = true
				// A joiner asks with its current KEM key (it may have
				// rotated it during an earlier membership).
				publish(r.ko.Add(Member{Peer: p.id, KEM: rings[p.id].KEMs()[0].PublicKey().Bytes()}))
			},
			"remove": func(rt *rapid.T) {
				p := rapid.SampledFrom(pool).Draw(rt, "removed")
				if !members[p.id] {
					rt.Skip("not a member")
				}
				delete(members, p.id)
				removedAt[p.id] = append(removedAt[p.id], cutoff{number: head + 1, lamport: r.c.lamport})
				publish(r.ko.Remove(Removal{Peer: p.id, Cutoff: r.c.lamport}))
			},
			"rotate": func(rt *rapid.T) { publish(r.ko.Rotate()) },
			"send": func(rt *rapid.T) {
				id := rapid.SampledFrom(sortedIDs(rings)).Draw(rt, "author")
				k := rings[id]
				keys, ok := k.HeadKeys()
				if !ok {
					rt.Skip("author holds no epoch to write in")
				}
				e := send(t, k, idents[id], &r.c, "m")
				msgs = append(msgs, propMessage{env: e, epoch: keys.Number, author: id})
			},
			"rotate KEM key": func(rt *rapid.T) {
				id := rapid.SampledFrom(sortedIDs(rings)).Draw(rt, "member")
				k := rings[id]
				if _, ok := k.HeadKeys(); !ok || id == r.owner.id {
					rt.Skip("not a member who can write")
				}
				_, pt, err := k.RotateKEM()
				if err != nil {
					rt.Fatal(err)
				}
				e := announce(t, k, idents[id], &r.c, pt)
				// The owner reads it at once (if it was sealed in an
				// epoch the owner still lists the author in, it counts).
				if opened, _, err := r.ko.Open(e); err == nil {
					if err := r.ko.NoteKEM(e, opened); err != nil && !errors.Is(err, ErrNotAllowed) {
						rt.Fatal(err)
					}
				}
			},
			"sync": func(rt *rapid.T) {
				syncOne(rapid.SampledFrom(sortedIDs(rings)).Draw(rt, "member"))
			},
		})

		for id := range rings {
			syncOne(id)
		}
		for id, k := range rings {
			for i, m := range msgs {
				// A reader drops a removed member's late message only
				// if it learned the cutoff, from the removal's epoch.
				valid := true
				for _, c := range removedAt[m.author] {
					if m.epoch < c.number && m.env.Lamport > c.lamport && held[id][c.number] {
						valid = false
					}
				}
				want := held[id][m.epoch] && valid
				_, _, err := k.Open(m.env)
				if got := err == nil; got != want {
					rt.Fatalf("%s and message %d (epoch %d, by %s): opened %v (%v), want %v", id, i, m.epoch, m.author, got, err, want)
				}
				if err != nil && !errors.Is(err, ErrNoKey) && !errors.Is(err, ErrAfterCutoff) {
					rt.Fatalf("unexpected refusal: %v", err)
				}
			}
		}
	})
}

func sortedIDs(m map[peer.ID]*Keyring) []peer.ID {
	ids := make([]peer.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[j] < ids[i] {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
	return ids
}
