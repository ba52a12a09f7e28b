package sealed

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// fixed returns n bytes derived from label, the same in every run.
func fixed(label string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256([]byte(label + string(rune('0'+i))))
		out = append(out, s[:]...)
	}
	return out[:n]
}

func fixedSecret(label string) [SecretSize]byte {
	var s [SecretSize]byte
	copy(s[:], fixed(label, SecretSize))
	return s
}

// TestGenerateVectors writes the vectors when run with -update. Wraps and
// encrypted states draw fresh randomness, so a rerun changes those bytes;
// everything else is fixed.
func TestGenerateVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite " + vectorFile)
	}
	owner, bob, carol := newIdent(t, "owner"), newIdent(t, "bob"), newIdent(t, "carol")
	v := vectors{Comment: "peerchat sealed kinds, see docs/protocol.md (Sealed kinds). Hex is lower case."}
	salt := fixed("salt", SaltSize)
	room := RoomName(owner.id, salt)
	v.RoomNames = append(v.RoomNames, roomNameVec{Owner: owner.id.String(), Salt: salt, Room: room})
	for _, label := range []string{"epoch a", "epoch b"} {
		k := DeriveEpoch(room, 0, fixedSecret(label))
		v.Schedule = append(v.Schedule, scheduleVec{Room: room, Secret: k.Secret[:], MessageKey: k.Message[:], StateKey: k.State[:], WritePub: hexBytes(k.WritePub), EpochID: k.ID[:]})
	}
	prev, ratchet := fixedSecret("epoch a"), fixed("ratchet", RatchetSize)
	next := AddSecret(room, prev, ratchet)
	v.AddRatchets = append(v.AddRatchets, addVec{Room: room, Prev: prev[:], Ratchet: ratchet, Next: next[:]})
	for _, n := range []int{0, 1, 30, 31, 100, 254, 255, 256, 300, 1000, 5000, 65533} {
		v.Padding = append(v.Padding, paddingVec{Plaintext: n, Padded: paddedLen(n + 2)})
	}
	for _, text := range []string{`{"text":"hello"}`, `{"text":"` + string(make([]byte, 0)) + `a longer message that pads to the next class of sizes, past thirty-two bytes","name":"Bob"}`} {
		k := DeriveEpoch(room, 0, fixedSecret("epoch a"))
		h := Header{Kind: protocol.KindSealedMessage, Room: room, Author: bob.id, Lamport: 42, SentAt: time.UnixMilli(1796300000123)}
		var nonce [NonceSize]byte
		copy(nonce[:], fixed("nonce "+text, NonceSize))
		body, err := sealWithNonce(k, h, []byte(text), nonce)
		if err != nil {
			t.Fatal(err)
		}
		v.Bodies = append(v.Bodies, bodyVec{Room: room, Kind: h.Kind, Author: bob.id.String(), Lamport: h.Lamport, SentAtMS: h.SentAt.UnixMilli(),
			Secret: k.Secret[:], Nonce: nonce[:], Plaintext: text, AAD: h.aad(k.ID), Body: body})
	}

	// A chain: genesis, add bob, rotate, remove bob, as carol (added with bob) sees it.
	r := newRoom(t, HistoryFromJoin)
	r.publish(r.ko.Add(bob.member(), carol.member()))
	r.publish(r.ko.Rotate())
	r.publish(r.ko.Remove(Removal{Peer: bob.id, Cutoff: r.c.lamport}))
	for _, who := range []*ident{carol, bob} {
		cv := chainVec{Comment: "genesis, add (bob, carol), rotate, remove bob", Room: r.ko.Room(), Member: who.id.String(), MemberKEM: who.kem.Bytes(), Name: "family"}
		for _, e := range r.epochs {
			cv.Envelopes = append(cv.Envelopes, e.Bytes())
			if keys, ok := r.ko.Held(mustRecord(t, e).ID); ok && !(who == bob && e == r.epochs[3]) && e != r.epochs[0] {
				cv.Secrets = append(cv.Secrets, keys.Secret[:])
			} else {
				cv.Secrets = append(cv.Secrets, hexBytes{})
			}
		}
		v.Chains = append(v.Chains, cv)
	}

	seedA, seedB := fixed("dm a", 32), fixed("dm b", 32)
	ka, kb := keyFromSeed(t, seedA), keyFromSeed(t, seedB)
	idB, _ := peerOf(kb)
	dm, err := DeriveDM(ka, idB)
	if err != nil {
		t.Fatal(err)
	}
	v.DMs = append(v.DMs, dmVec{SeedA: seedA, SeedB: seedB, Room: dm.Room, Salt: dm.Salt, Secret: dm.Secret[:]})

	inv := &Invite{Room: room, Owner: owner.id, OwnerKEM: owner.kem.PublicKey().Bytes(), Expires: time.Unix(1796400000, 0), Relays: []string{"/ip4/192.0.2.1/tcp/4001"}}
	copy(inv.Code[:], fixed("code", CodeSize))
	id := inv.ID()
	v.Invites = append(v.Invites, inviteVec{Link: inv.String(), Room: room, Owner: owner.id.String(), Code: inv.Code[:], OwnerKEM: inv.OwnerKEM, Expires: inv.Expires.Unix(), Relays: inv.Relays, ID: id[:]})
	body, err := NewJoin(inv, carol.id, carol.kem.PublicKey().Bytes(), "Carol")
	if err != nil {
		t.Fatal(err)
	}
	je := sign(t, carol, &clock{}, protocol.KindSealedJoin, room, body)
	v.Joins = append(v.Joins, joinVec{Invite: inv.String(), OwnerKEM: owner.kem.Bytes(), Envelope: je.Bytes(), JoinerKEM: carol.kem.PublicKey().Bytes(), JoinerName: "Carol"})

	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(vectorFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
