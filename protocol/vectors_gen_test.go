package protocol_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/reconcile"
	"github.com/peerchat/peerchat/protocol/sketch"
)

// update rewrites the vectors from the inputs below:
//
//	go test ./protocol -run TestWriteVectors -update
//
// Vectors are a promise to other implementations: regenerate them only for
// a deliberate change of the protocol, and say so in docs/protocol.md.
var update = flag.Bool("update", false, "rewrite testdata/vectors from the generator's inputs")

// The fixed keys of the vectors: RFC 8032 seeds 00..1f and 20..3f.
func vectorSeed(first byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = first + byte(i)
	}
	return s
}

// baseMS is the send time of the vectors' first envelope.
const baseMS = 1_700_000_000_000

type vectorKey struct {
	name string
	seed []byte
	priv crypto.PrivKey
	id   peer.ID
}

func newVectorKey(t *testing.T, name string, first byte) vectorKey {
	t.Helper()
	seed := vectorSeed(first)
	k, err := keyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return vectorKey{name, seed, k, id}
}

// sign builds and signs an envelope with our encoder.
func (k vectorKey) sign(t *testing.T, kind, room string, lamport uint64, sentAtMS int64, body string) *protocol.Envelope {
	t.Helper()
	e := &protocol.Envelope{Kind: kind, Room: room, Lamport: lamport, SentAt: time.UnixMilli(sentAtMS).UTC(), Body: []byte(body)}
	if err := e.Sign(k.priv); err != nil {
		t.Fatal(err)
	}
	return e
}

// rawEnvelope encodes envelope fields by hand, so that the invalid vectors
// can hold encodings our encoder refuses to write. lamport is the varint's
// bytes as they should appear.
func rawEnvelope(t *testing.T, key crypto.PrivKey, version byte, kind, room string, author []byte, lamport []byte, sentAtMS int64, body string) []byte {
	t.Helper()
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	b := []byte{version}
	b = str(b, kind)
	b = str(b, room)
	b = str(b, string(author))
	b = append(b, lamport...)
	b = binary.AppendVarint(b, sentAtMS)
	b = str(b, body)
	sig, err := key.Sign(append([]byte("peerchat-envelope:"), b...))
	if err != nil {
		t.Fatal(err)
	}
	return str(b, string(sig))
}

func TestWriteVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the vectors")
	}
	alice := newVectorKey(t, "alice", 0x00)
	bob := newVectorKey(t, "bob", 0x20)
	for name, v := range map[string]any{
		"envelope.json":                 envelopeVectors(t, alice, bob),
		"bodies.json":                   bodyVectors(),
		"frames.json":                   frameVectors(t, alice),
		"sketch_keys.json":              keyVectors(),
		"transcript_1.0.0.json":         transcript(t, protocol.SyncProtocol, alice, bob),
		"transcript_1.1.0.json":         transcript(t, protocol.SyncSketchProtocol, alice, bob),
		"transcript_in_sync_1.0.0.json": inSync(t, protocol.SyncProtocol, alice),
		"transcript_in_sync_1.1.0.json": inSync(t, protocol.SyncSketchProtocol, alice),
	} {
		if err := writeVectors(name, v); err != nil {
			t.Fatal(err)
		}
	}
}

func envelopeVectors(t *testing.T, alice, bob vectorKey) envelopeFile {
	f := envelopeFile{Description: "Envelopes signed with fixed Ed25519 keys. Hex fields are lower-case hex of the bytes. " +
		"signed_bytes are every field before the signature; signing_input is \"peerchat-envelope:\" followed by them; " +
		"id is SHA-256(signed_bytes); gossipsub_message_id is SHA-256(encoded), whose 32 raw bytes are the gossipsub message ID. " +
		"invalid encodings must be refused by the decoder, validation envelopes decode and must be refused (or accepted, errors empty) by a receiver in receiver_room at receiver_now_ms. " +
		"Error names: malformed, non_minimal_varint, version, kind, signature, wrong_room, future, zero_lamport (docs/protocol.md)."}
	for _, k := range []vectorKey{alice, bob} {
		pub := k.priv.GetPublic()
		raw, _ := pub.Raw()
		pb, _ := crypto.MarshalPublicKey(pub)
		f.Keys = append(f.Keys, keyVector{Name: k.name, Seed: k.seed, PublicKey: raw, PeerID: k.id.String(), PeerIDBytes: []byte(k.id), ProtobufKey: pb})
	}
	f.Keys[0].AgentVersion = protocol.AgentVersion("0.9.0")
	msg := alice.sign(t, protocol.KindMessage, "lobby", 7, baseMS+123, `{"text":"hello, peerchat","name":"Alice","client_msg_id":"c-1"}`)
	envs := []struct {
		name string
		key  vectorKey
		e    *protocol.Envelope
	}{
		{"message", alice, msg},
		{"message sent before 1970 (sent_at is a signed zig-zag varint)", alice, alice.sign(t, protocol.KindMessage, "dev", 1, -5, `{"text":"x"}`)},
		{"receipt", bob, bob.sign(t, protocol.KindReceipt, "lobby", 9, baseMS+2000, `{"kind":"read","up_to":"`+msg.ID().String()+`","up_to_lamport":7}`)},
		{"typing", alice, alice.sign(t, protocol.KindTyping, "lobby", 8, baseMS+1000, `{"name":"Alice","ttl_ms":5000}`)},
		{"presence", bob, bob.sign(t, protocol.KindPresence, "lobby", 10, baseMS+3000, `{"name":"Bob","status":"online","lease_ms":20000,"room_size":2}`)},
	}
	for _, c := range envs {
		e := c.e
		id := e.ID()
		n := len(e.Bytes()) - len(e.Signature) - uvarintLen(uint64(len(e.Signature)))
		signed := e.Bytes()[:n]
		g := sha256.Sum256(e.Bytes())
		f.Envelopes = append(f.Envelopes, envelopeVector{
			Name: c.name, Key: c.key.name, Kind: e.Kind, Room: e.Room, Lamport: e.Lamport, SentAtMS: e.SentAt.UnixMilli(),
			Body: string(e.Body), SignedBytes: signed, SigningInput: append([]byte("peerchat-envelope:"), signed...),
			Signature: e.Signature, Encoded: e.Bytes(), ID: id[:], GossipID: g[:], Topic: protocol.Topic(e.Room),
		})
	}
	author := []byte(alice.id)
	lam7 := []byte{7}
	good := msg.Bytes()
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-1] ^= 1
	raw, _ := alice.priv.GetPublic().Raw()
	swapped := append(append([]byte{0x12, byte(len(raw))}, raw...), 0x08, 0x01)
	swappedID := append([]byte{0x00, byte(len(swapped))}, swapped...)
	body := `{"text":"hi"}`
	for _, c := range []struct {
		name string
		enc  []byte
	}{
		{"Lamport varint padded to two bytes (07 written 87 00)", rawEnvelope(t, alice.priv, 1, "message", "lobby", author, []byte{0x87, 0x00}, baseMS, body)},
		{"kind length padded to two bytes", append([]byte{1, 0x87, 0x00}, rawEnvelope(t, alice.priv, 1, "message", "lobby", author, lam7, baseMS, body)[2:]...)},
		{"one trailing byte", append(append([]byte(nil), good...), 0)},
		{"version 2", rawEnvelope(t, alice.priv, 2, "message", "lobby", author, lam7, baseMS, body)},
		{"unknown kind \"edit\"", rawEnvelope(t, alice.priv, 1, "edit", "lobby", author, lam7, baseMS, body)},
		{"room name with a space", rawEnvelope(t, alice.priv, 1, "message", "lob by", author, lam7, baseMS, body)},
		{"one bit of the signature flipped", flipped},
		{"author is the same key with its protobuf fields swapped", rawEnvelope(t, alice.priv, 1, "message", "lobby", swappedID, lam7, baseMS, body)},
		{"truncated inside the body", good[:len(good)-80]},
	} {
		_, err := protocol.Decode(c.enc)
		if err == nil {
			t.Fatalf("invalid vector %q decodes", c.name)
		}
		f.Invalid = append(f.Invalid, invalidEnvelope{Name: c.name, Encoded: c.enc, Errors: describeErrors(err)})
	}
	now := int64(baseMS + 60_000)
	for _, c := range []struct {
		name string
		e    *protocol.Envelope
		room string
	}{
		{"accepted", alice.sign(t, protocol.KindMessage, "lobby", 1, now, body), "lobby"},
		{"Lamport 0", alice.sign(t, protocol.KindMessage, "lobby", 0, now, body), "lobby"},
		{"received on another room's topic", alice.sign(t, protocol.KindMessage, "lobby", 1, now, body), "dev"},
		{"sent 5 minutes and 1 ms in the future", alice.sign(t, protocol.KindMessage, "lobby", 1, now+300_001, body), "lobby"},
		{"sent exactly 5 minutes in the future", alice.sign(t, protocol.KindMessage, "lobby", 1, now+300_000, body), "lobby"},
	} {
		err := c.e.Validate(c.room, time.UnixMilli(now))
		f.Validation = append(f.Validation, validationEnvelope{Name: c.name, Encoded: c.e.Bytes(), Room: c.room, NowMS: now, Errors: append([]string{}, describeErrors(err)...)})
	}
	return f
}

func uvarintLen(v uint64) int { return len(binary.AppendUvarint(nil, v)) }

func bodyVectors() bodiesFile {
	id := fmt.Sprintf("%064x", 1)
	f := bodiesFile{Description: "JSON bodies and whether a receiver accepts them; an envelope whose body is refused is refused as malformed."}
	for _, b := range []bodyVector{
		{"message with every field", "message", `{"text":"hi","name":"Alice","client_msg_id":"c-1"}`, true},
		{"message with text only", "message", `{"text":"hi"}`, true},
		{"message with an unknown field", "message", `{"text":"hi","reply_to":"x"}`, true},
		{"message without text", "message", `{"name":"Alice"}`, false},
		{"message with empty text", "message", `{"text":""}`, false},
		{"message with text of 16,001 characters", "message", `{"text":"` + repeat("é", 16001) + `"}`, false},
		{"message with text of 16,000 characters", "message", `{"text":"` + repeat("é", 16000) + `"}`, true},
		{"message with text null", "message", `{"text":null}`, false},
		{"message with a key in upper case", "message", `{"TEXT":"hi"}`, false},
		{"message with text twice", "message", `{"text":"hi","text":"ho"}`, false},
		{"message that is not an object", "message", `"hi"`, false},
		{"typing", "typing", `{"name":"Alice","ttl_ms":5000}`, true},
		{"typing without ttl_ms", "typing", `{"name":"Alice"}`, false},
		{"typing with ttl_ms 30001", "typing", `{"ttl_ms":30001}`, false},
		{"typing with ttl_ms 5000.0", "typing", `{"ttl_ms":5000.0}`, false},
		{"presence", "presence", `{"name":"Bob","status":"away","lease_ms":20000,"room_size":12}`, true},
		{"presence with status only (lease 0)", "presence", `{"status":"offline"}`, true},
		{"presence without status", "presence", `{"lease_ms":20000}`, false},
		{"presence with status busy", "presence", `{"status":"busy","lease_ms":20000}`, false},
		{"presence with lease_ms 600001", "presence", `{"status":"online","lease_ms":600001}`, false},
		{"presence with room_size 1048577", "presence", `{"status":"online","lease_ms":1,"room_size":1048577}`, false},
		{"receipt", "receipt", `{"kind":"delivered","up_to":"` + id + `","up_to_lamport":3}`, true},
		{"receipt without up_to_lamport (0)", "receipt", `{"kind":"read","up_to":"` + id + `"}`, true},
		{"receipt without up_to", "receipt", `{"kind":"read","up_to_lamport":3}`, false},
		{"receipt with up_to in upper-case hex", "receipt", `{"kind":"read","up_to":"` + fmt.Sprintf("%064X", 0xab) + `"}`, true},
		{"receipt of kind seen", "receipt", `{"kind":"seen","up_to":"` + id + `"}`, false},
	} {
		f.Bodies = append(f.Bodies, b)
	}
	return f
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

func frameVectors(t *testing.T, alice vectorKey) framesFile {
	f := framesFile{Description: "One example of each sync frame: type (1 byte), payload length (minimal uvarint), payload. " +
		"The fields after the frame say what the payload holds. invalid frames must be refused; a node resets the stream on them."}
	both := []string{"1.0.0", "1.1.0"}
	sketchOnly := []string{"1.1.0"}
	add := func(v frameVector) {
		v.Frame = frameBytes(t, protocol.FrameType(v.Type), v.Payload)
		f.Frames = append(f.Frames, v)
	}
	for _, h := range []protocol.Hello{{Room: "lobby", Horizon: 0}, {Room: "lobby", Horizon: 300}} {
		add(frameVector{Name: "Hello", Protocols: both, Type: int(protocol.FrameHello), Payload: protocol.EncodeHello(h), Hello: &h})
	}
	items := []itemVector{{1, idOf("a")}, {2, idOf("b")}, {2, idOf("c")}}
	ritems := make([]reconcile.Item, len(items))
	for i, it := range items {
		ritems[i] = reconcile.Item{Lamport: it.Lamport, ID: protocol.ID(it.ID)}
	}
	slicesSortItems(ritems)
	start, _ := reconcile.NewInitiator(ritems, reconcile.Config{}).Start()
	add(frameVector{Name: "Reconcile: the initiator's first message, one fingerprint of the whole set", Protocols: both, Type: int(protocol.FrameReconcile), Payload: start, Reconcile: &rangesVector{Items: items}})
	done, _ := reconcile.Respond(ritems, start, reconcile.Config{})
	add(frameVector{Name: "Reconcile: a responder holding the same set answers with the version byte alone", Protocols: both, Type: int(protocol.FrameReconcile), Payload: done, Reconcile: &rangesVector{Items: items, Responder: items}})
	empty, _ := reconcile.NewInitiator(nil, reconcile.Config{}).Start()
	add(frameVector{Name: "Reconcile: the first message of an initiator holding nothing", Protocols: both, Type: int(protocol.FrameReconcile), Payload: empty, Reconcile: &rangesVector{Items: []itemVector{}}})
	env := alice.sign(t, protocol.KindMessage, "lobby", 7, baseMS+123, `{"text":"hello, peerchat","name":"Alice","client_msg_id":"c-1"}`)
	add(frameVector{Name: "Envelope", Protocols: both, Type: int(protocol.FrameEnvelope), Payload: env.Bytes()})
	ids := []protocol.ID{protocol.ID(idOf("a")), protocol.ID(idOf("b"))}
	add(frameVector{Name: "Want", Protocols: both, Type: int(protocol.FrameWant), Payload: protocol.EncodeIDs(ids), IDs: []hexBytes{ids[0][:], ids[1][:]}})
	add(frameVector{Name: "Done", Protocols: both, Type: int(protocol.FrameDone), Payload: []byte{}})
	add(frameVector{Name: "Error", Protocols: both, Type: int(protocol.FrameError), Payload: []byte("room not joined"), Text: "room not joined"})
	add(frameVector{Name: "Sketch Size", Protocols: sketchOnly, Type: int(protocol.FrameSketch), Payload: sketch.EncodeSize(300), Sketch: &sketchVector{Kind: int(sketch.KindSize), N: 300}})
	seed := uint64(0x0123456789abcdef)
	table := sketch.New(seed, 6)
	for _, id := range ids {
		table.Insert(sketch.Key(seed, id))
	}
	add(frameVector{Name: "Sketch Table: the 6-cell probe holding two IDs", Protocols: sketchOnly, Type: int(protocol.FrameSketch), Payload: sketch.EncodeTable(table),
		Sketch: &sketchVector{Kind: int(sketch.KindTable), Seed: strconv.FormatUint(seed, 10), Cells: 6, IDs: []hexBytes{ids[0][:], ids[1][:]}}})
	add(frameVector{Name: "Sketch Retry", Protocols: sketchOnly, Type: int(protocol.FrameSketch), Payload: sketch.EncodeRetry(12), Sketch: &sketchVector{Kind: int(sketch.KindRetry), N: 12}})
	add(frameVector{Name: "Sketch Decoded", Protocols: sketchOnly, Type: int(protocol.FrameSketch), Payload: sketch.EncodeDecoded(), Sketch: &sketchVector{Kind: int(sketch.KindDecoded)}})
	keys := []uint64{sketch.Key(seed, ids[0]), 1}
	add(frameVector{Name: "WantKeys", Protocols: sketchOnly, Type: int(protocol.FrameWantKeys), Payload: protocol.EncodeKeys(keys), Keys: []string{strconv.FormatUint(keys[0], 10), "1"}})
	for _, c := range []struct {
		name  string
		frame []byte
	}{
		{"type 0", []byte{0, 0}},
		{"type 9", []byte{9, 0}},
		{"Done with its length padded (80 00)", []byte{5, 0x80, 0x00}},
		{"Done with a payload", []byte{5, 1, 0}},
		{"length above 1 MiB", []byte{6, 0x81, 0x80, 0x40}},
		{"payload shorter than its length", []byte{6, 4, 'r', 'o'}},
	} {
		f.Invalid = append(f.Invalid, invalidFrame{Name: c.name, Frame: c.frame, Errors: readFrameErrors(c.frame)})
	}
	fp := make([]byte, 16)
	for _, c := range []struct {
		name    string
		typ     protocol.FrameType
		payload []byte
	}{
		{"Hello with its horizon padded (80 00)", protocol.FrameHello, []byte("lobby\x00\x80\x00")},
		{"Hello without the zero byte and horizon", protocol.FrameHello, []byte("lobby")},
		{"Hello with a byte after the horizon", protocol.FrameHello, []byte("lobby\x00\x00\x00")},
		{"Hello for an invalid room name", protocol.FrameHello, []byte("..\x00\x00")},
		{"Reconcile of version 2", protocol.FrameReconcile, append([]byte{2, 0x7f}, fp...)},
		{"Reconcile with a bound's Lamport delta padded", protocol.FrameReconcile, append([]byte{1, 0x40, 0x85, 0x00}, fp...)},
		{"Reconcile with a bound prefix ending in a zero byte", protocol.FrameReconcile, append([]byte{1, 0x42, 0x05, 0xab, 0x00}, fp...)},
		{"Reconcile with a range after the infinite bound", protocol.FrameReconcile, append(append([]byte{1, 0x3f, 0x7f}, fp...), 0x3f)},
		{"Reconcile with bounds not ascending", protocol.FrameReconcile, []byte{1, 0x00, 0x05, 0x00, 0x00}},
		{"Sketch Size padded", protocol.FrameSketch, []byte{1, 0x85, 0x00}},
		{"Sketch Table of 4 cells", protocol.FrameSketch, append(append([]byte{2}, make([]byte, 8)...), 4)},
		{"Sketch of kind 5", protocol.FrameSketch, []byte{5}},
		{"Want of 33 bytes", protocol.FrameWant, make([]byte, 33)},
		{"WantKeys of 12 bytes", protocol.FrameWantKeys, make([]byte, 12)},
	} {
		f.InvalidPayloads = append(f.InvalidPayloads, invalidPayload{Name: c.name, Type: int(c.typ), Payload: c.payload, Errors: payloadErrors(c.typ, c.payload)})
	}
	return f
}

func idOf(s string) hexBytes {
	id := sha256.Sum256([]byte(s))
	return id[:]
}

func keyVectors() keysFile {
	f := keysFile{Description: "Sketch keys of IDs under a session seed (decimal uint64), the cell of each key in every partition of a table, " +
		"its 32-bit check hash, and tables encoded as Sketch Table messages (kind 2, seed 8 bytes LE, minimal uvarint cell count, cells)."}
	seeds := []uint64{0, 0x0123456789abcdef, 1 << 63}
	for _, seed := range seeds {
		for _, s := range []string{"a", "b"} {
			id := idOf(s)
			key := sketch.Key(seed, protocol.ID(id))
			for _, cells := range []int{6, 30} {
				idx, check := placeOf(seed, key, cells)
				f.Keys = append(f.Keys, keyPlace{Seed: strconv.FormatUint(seed, 10), ID: id, Key: strconv.FormatUint(key, 10), KeyHex: fmt.Sprintf("%016x", key), Cells: cells, CellIndex: idx, CheckHash: check})
			}
		}
	}
	for _, c := range []struct {
		seed  uint64
		cells int
		ids   []string
	}{{0x0123456789abcdef, 6, []string{"a", "b", "c"}}, {42, 9, nil}, {7, 12, []string{"a", "a"}}} {
		tc := tableCase{Seed: strconv.FormatUint(c.seed, 10), Cells: c.cells, IDs: []hexBytes{}}
		t := sketch.New(c.seed, c.cells)
		for _, s := range c.ids {
			tc.IDs = append(tc.IDs, idOf(s))
			t.Insert(sketch.Key(c.seed, protocol.ID(idOf(s))))
		}
		tc.Encoded = sketch.EncodeTable(t)
		f.Tables = append(f.Tables, tc)
	}
	return f
}

func slicesSortItems(items []reconcile.Item) { slices.SortFunc(items, reconcile.Item.Compare) }

// frameBytes is a frame as WriteFrame writes it.
func frameBytes(t *testing.T, typ protocol.FrameType, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := protocol.WriteFrame(&buf, typ, payload); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readFrameErrors names the errors ReadFrame refuses frame with.
func readFrameErrors(frame []byte) []string {
	_, _, err := protocol.ReadFrame(bufio.NewReader(bytes.NewReader(frame)))
	names := describeErrors(err)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		names = append(names, "truncated")
	}
	return names
}

// placeOf finds where key goes in a table of cells cells under seed, by
// inserting it alone and reading the encoded table: the three cells whose
// count is 1, and their common hash sum, the key's check hash.
func placeOf(seed, key uint64, cells int) ([]int, uint32) {
	t := sketch.New(seed, cells)
	t.Insert(key)
	parsed, _, _ := parseTable(sketch.EncodeTable(t))
	var idx []int
	var check uint32
	for i, c := range parsed {
		if c.count == 1 {
			idx = append(idx, i)
			check = c.hashSum
		}
	}
	return idx, check
}

// transcript builds a session between two sides whose histories differ
// in both directions above a horizon the responder has pruned to.
func transcript(t *testing.T, proto string, alice, bob vectorKey) transcriptFile {
	msg := map[uint64]*protocol.Envelope{}
	for l := uint64(1); l <= 22; l++ {
		k, name := alice, "Alice"
		if l%2 == 0 {
			k, name = bob, "Bob"
		}
		msg[l] = k.sign(t, protocol.KindMessage, "lobby", l, baseMS+int64(l)*1000, fmt.Sprintf(`{"text":"message %d","name":%q}`, l, name))
	}
	pick := func(ls ...uint64) []*protocol.Envelope {
		var out []*protocol.Envelope
		for _, l := range ls {
			out = append(out, msg[l])
		}
		return out
	}
	shared := []uint64{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	ini := syncSide{horizon: 0, messages: pick(append([]uint64{1, 2}, append(shared, 15, 17, 20, 21)...)...)}
	resp := syncSide{horizon: 2, messages: pick(append(shared, 16, 18, 19, 22)...)}
	read := bob.sign(t, protocol.KindReceipt, "lobby", 23, baseMS+23_000, `{"kind":"read","up_to":"`+msg[14].ID().String()+`","up_to_lamport":14}`)
	resp.receipts = [][]byte{read.Bytes()}
	desc := "A /peerchat/sync/1.0.0 session: the initiator holds messages 1-15, 17, 20 and 21 (by Lamport clock) and no receipt; " +
		"the responder pruned its history to horizon 2 and holds 3-14, 16, 18, 19, 22 and one read receipt. " +
		"Messages at or below the larger horizon (1 and 2) are left out. Frames are listed in the order our node writes them."
	var seed uint64
	if proto == protocol.SyncSketchProtocol {
		seed = 0x5eed5eed5eed5eed
		delivered := alice.sign(t, protocol.KindReceipt, "lobby", 24, baseMS+24_000, `{"kind":"delivered","up_to":"`+msg[21].ID().String()+`","up_to_lamport":21}`)
		ini.receipts = [][]byte{delivered.Bytes()}
		desc = "A /peerchat/sync/1.1.0 session between the holdings of transcript_1.0.0.json, except that the initiator also holds a delivered receipt. " +
			"The counts above the horizon are equal, so the first table is the 6-cell probe; it does not peel and the responder answers Retry. " +
			"sketch_seed is the initiator's random seed for this session."
	}
	frames, err := simulateSync(proto, "lobby", ini, resp, seed)
	if err != nil {
		t.Fatal(err)
	}
	side := func(s syncSide) transcriptSide {
		ts := transcriptSide{Horizon: s.horizon, Envelopes: []hexBytes{}, Receipts: []hexBytes{}}
		for _, e := range s.messages {
			ts.Envelopes = append(ts.Envelopes, e.Bytes())
		}
		for _, r := range s.receipts {
			ts.Receipts = append(ts.Receipts, r)
		}
		return ts
	}
	f := transcriptFile{Description: desc, Protocol: proto, Room: "lobby", Initiator: side(ini), Responder: side(resp), Frames: frames,
		InitiatorGains: gains(ini, resp), ResponderGains: gains(resp, ini)}
	if seed != 0 {
		f.SketchSeed = strconv.FormatUint(seed, 10)
	}
	return f
}

// inSync is the commonest session: two peers that already hold the same
// history, which each version confirms in one exchange.
func inSync(t *testing.T, proto string, alice vectorKey) transcriptFile {
	var msgs []*protocol.Envelope
	for l := uint64(1); l <= 3; l++ {
		msgs = append(msgs, alice.sign(t, protocol.KindMessage, "lobby", l, baseMS+int64(l)*1000, fmt.Sprintf(`{"text":"message %d"}`, l)))
	}
	side := syncSide{messages: msgs}
	seed := uint64(0)
	if proto == protocol.SyncSketchProtocol {
		seed = 0x5eed
	}
	frames, err := simulateSync(proto, "lobby", side, side, seed)
	if err != nil {
		t.Fatal(err)
	}
	ts := transcriptSide{Envelopes: []hexBytes{}, Receipts: []hexBytes{}}
	for _, e := range msgs {
		ts.Envelopes = append(ts.Envelopes, e.Bytes())
	}
	f := transcriptFile{Description: "A " + proto + " session between two peers holding the same three messages and no receipts.",
		Protocol: proto, Room: "lobby", Initiator: ts, Responder: ts, Frames: frames, InitiatorGains: []hexBytes{}, ResponderGains: []hexBytes{}}
	if seed != 0 {
		f.SketchSeed = strconv.FormatUint(seed, 10)
	}
	return f
}
