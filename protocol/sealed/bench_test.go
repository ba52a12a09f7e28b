package sealed

import (
	"crypto/ecdh"
	"fmt"
	"strings"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

// plaintext400 is a 400-byte message body, the size the design measured.
var plaintext400 = []byte(`{"text":"` + strings.Repeat("x", 380) + `","name":"b"}`)

func benchRoom(b *testing.B) (*room, *EpochKeys, Header) {
	r := newRoom(b, HistoryFromJoin)
	keys, _ := r.ko.HeadKeys()
	h := Header{Kind: protocol.KindSealedMessage, Room: r.ko.Room(), Author: r.owner.id, Lamport: 9, SentAt: testEpoch}
	return r, keys, h
}

// BenchmarkSeal is what sealing adds to a send: pad, XChaCha20-Poly1305
// and the write signature.
func BenchmarkSeal(b *testing.B) {
	_, keys, h := benchRoom(b)
	for b.Loop() {
		if _, err := Seal(keys, h, plaintext400); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is what opening adds at a member: the write signature
// check and the AEAD.
func BenchmarkOpen(b *testing.B) {
	_, keys, h := benchRoom(b)
	body, _ := Seal(keys, h, plaintext400)
	for b.Loop() {
		if _, err := Open(keys, h, body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(body)-len(plaintext400)), "overhead-bytes")
}

// BenchmarkRelayCheckWrite is what a relay pays per sealed envelope,
// beyond the envelope's own verification, holding no key.
func BenchmarkRelayCheckWrite(b *testing.B) {
	r, _, _ := benchRoom(b)
	m := send(b, r.ko, r.owner, &r.c, string(plaintext400))
	relay := NewChainFrom(b, r.epochs...)
	for b.Loop() {
		if _, err := relay.CheckWrite(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoveFromRoomOf measures the owner's CPU to build a removal
// in rooms of 10 and 100 members, and reports the record's size.
func BenchmarkRemoveFromRoomOf(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			r := newRoom(b, HistoryFromJoin)
			var joiners []Member
			for i := 0; i < n; i++ {
				joiners = append(joiners, newIdent(b, fmt.Sprintf("m%d", i)).member())
			}
			r.publish(r.ko.Add(joiners...))
			var size int
			for b.Loop() {
				body, err := r.ko.Remove(Removal{Peer: joiners[0].Peer, Cutoff: 1})
				if err != nil {
					b.Fatal(err)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "record-bytes")
		})
	}
}

// BenchmarkMemberAdoptsRemovalIn100MemberRoom measures what one remaining
// member pays to adopt a removal's secret: find and open its wrap, derive
// the keys, open the 100-member state.
func BenchmarkMemberAdoptsRemovalIn100MemberRoom(b *testing.B) {
	r := newRoom(b, HistoryFromJoin)
	var members []*ident
	var joiners []Member
	for i := 0; i < 100; i++ {
		m := newIdent(b, fmt.Sprintf("m%d", i))
		members, joiners = append(members, m), append(joiners, m.member())
	}
	r.publish(r.ko.Add(joiners...))
	e := r.publish(r.ko.Remove(Removal{Peer: joiners[0].Peer, Cutoff: 1}))
	rec := mustRecord(b, e)
	me := members[99] // the last wrap: the worst case of the kid search
	for b.Loop() {
		secret, _, ok, err := openWrap(r.ko.Room(), rec, []*ecdh.PrivateKey{me.kem})
		if err != nil || !ok {
			b.Fatal(err)
		}
		keys := DeriveEpoch(r.ko.Room(), rec.Number, secret)
		if _, err := openState(keys, rec.State); err != nil {
			b.Fatal(err)
		}
	}
}
