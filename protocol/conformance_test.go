package protocol_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/reconcile"
	"github.com/peerchat/peerchat/protocol/sketch"
)

// The conformance tests read only testdata/vectors: every input comes from
// the files, and our encoders must reproduce every output byte for byte
// while our decoders accept exactly what the files call valid. A change
// that breaks one of them changes the wire format other implementations
// were promised.

func TestConformanceEnvelopesAreReproducedFromTheirFields(t *testing.T) {
	var f envelopeFile
	if err := readVectors("envelope.json", &f); err != nil {
		t.Fatal(err)
	}
	keys := map[string]crypto.PrivKey{}
	for _, k := range f.Keys {
		priv, err := keyFromSeed(k.Seed)
		if err != nil {
			t.Fatal(err)
		}
		keys[k.Name] = priv
		raw, _ := priv.GetPublic().Raw()
		pb, _ := crypto.MarshalPublicKey(priv.GetPublic())
		id, _ := peer.IDFromPrivateKey(priv)
		if !bytes.Equal(raw, k.PublicKey) || !bytes.Equal(pb, k.ProtobufKey) || !bytes.Equal([]byte(id), k.PeerIDBytes) || id.String() != k.PeerID {
			t.Errorf("key %s: derived %x, %x, %x, %s", k.Name, raw, pb, []byte(id), id)
		}
		if k.AgentVersion != "" && !strings.HasPrefix(k.AgentVersion, "peerchat/") {
			t.Errorf("agent version %q does not start with peerchat/", k.AgentVersion)
		}
	}
	for _, v := range f.Envelopes {
		e := &protocol.Envelope{Kind: v.Kind, Room: v.Room, Lamport: v.Lamport, SentAt: time.UnixMilli(v.SentAtMS), Body: []byte(v.Body)}
		if err := e.Sign(keys[v.Key]); err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		id := e.ID()
		gossip := protocol.GossipMessageID(v.Encoded)
		sum := sha256.Sum256(v.SignedBytes)
		pub, _ := keys[v.Key].GetPublic().Raw()
		switch {
		case !bytes.Equal(e.Bytes(), v.Encoded):
			t.Errorf("%s: encodes as %x, want %x", v.Name, e.Bytes(), v.Encoded)
		case !bytes.Equal(e.Signature, v.Signature):
			t.Errorf("%s: signature %x, want %x", v.Name, e.Signature, v.Signature)
		case !bytes.Equal(id[:], v.ID) || !bytes.Equal(sum[:], v.ID):
			t.Errorf("%s: ID %x, want %x", v.Name, id, v.ID)
		case !bytes.HasPrefix(v.Encoded, v.SignedBytes) || !bytes.Equal(v.SigningInput, append([]byte("peerchat-envelope:"), v.SignedBytes...)):
			t.Errorf("%s: signed bytes or signing input do not match the encoding", v.Name)
		case !ed25519.Verify(pub, v.SigningInput, v.Signature):
			t.Errorf("%s: the signature does not verify over the signing input", v.Name)
		case gossip != string(v.GossipID):
			t.Errorf("%s: gossipsub message ID %x, want %x", v.Name, gossip, v.GossipID)
		case protocol.Topic(v.Room) != v.Topic:
			t.Errorf("%s: topic %s, want %s", v.Name, protocol.Topic(v.Room), v.Topic)
		}
		got, err := protocol.Decode(v.Encoded)
		if err != nil || got.ID() != id || got.Kind != v.Kind || got.Room != v.Room || got.Lamport != v.Lamport ||
			got.SentAt.UnixMilli() != v.SentAtMS || string(got.Body) != v.Body || !bytes.Equal(got.Signature, v.Signature) {
			t.Errorf("%s: decodes as %+v, %v", v.Name, got, err)
		}
	}
	for _, v := range f.Invalid {
		_, err := protocol.Decode(v.Encoded)
		if got := describeErrors(err); err == nil || !slices.Equal(got, v.Errors) {
			t.Errorf("invalid %q: refused with %v (%v), want %v", v.Name, got, err, v.Errors)
		}
	}
	for _, v := range f.Validation {
		e, err := protocol.Decode(v.Encoded)
		if err != nil {
			t.Errorf("validation %q: does not decode: %v", v.Name, err)
			continue
		}
		err = e.Validate(v.Room, time.UnixMilli(v.NowMS))
		if got := describeErrors(err); !slices.Equal(got, v.Errors) {
			t.Errorf("validation %q: got %v (%v), want %v", v.Name, got, err, v.Errors)
		}
	}
}

func TestConformanceBodiesAreAcceptedExactlyWhenValid(t *testing.T) {
	var f bodiesFile
	if err := readVectors("bodies.json", &f); err != nil {
		t.Fatal(err)
	}
	var keys envelopeFile
	if err := readVectors("envelope.json", &keys); err != nil {
		t.Fatal(err)
	}
	key, err := keyFromSeed(keys.Keys[0].Seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Bodies {
		// A body is judged as a receiver judges it: in a signed envelope
		// that passed Decode.
		signed := &protocol.Envelope{Kind: v.Kind, Room: "lobby", Lamport: 1, SentAt: time.UnixMilli(0), Body: []byte(v.Body)}
		if err := signed.Sign(key); err != nil {
			t.Fatal(err)
		}
		e, err := protocol.Decode(signed.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		switch v.Kind {
		case protocol.KindMessage:
			_, err = protocol.MessageFromEnvelope(e)
		case protocol.KindTyping:
			_, err = protocol.DecodeTyping(e)
		case protocol.KindPresence:
			_, err = protocol.DecodePresence(e)
		case protocol.KindReceipt:
			_, err = protocol.DecodeReceipt(e)
		default:
			t.Fatalf("%s: unknown kind %q", v.Name, v.Kind)
		}
		if (err == nil) != v.Valid {
			t.Errorf("%s: valid %v, got %v", v.Name, v.Valid, err)
		}
	}
}

func TestConformanceFramesAreReproducedFromWhatTheySay(t *testing.T) {
	var f framesFile
	if err := readVectors("frames.json", &f); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Frames {
		var buf bytes.Buffer
		if err := protocol.WriteFrame(&buf, protocol.FrameType(v.Type), v.Payload); err != nil || !bytes.Equal(buf.Bytes(), v.Frame) {
			t.Errorf("%s: writes as %x (%v), want %x", v.Name, buf.Bytes(), err, v.Frame)
		}
		r := bufio.NewReader(bytes.NewReader(v.Frame))
		typ, payload, err := protocol.ReadFrame(r)
		if err != nil || int(typ) != v.Type || !bytes.Equal(payload, v.Payload) || r.Buffered() != 0 {
			t.Errorf("%s: reads as type %d payload %x, %v", v.Name, typ, payload, err)
		}
		if want, err := payloadOf(v); err != nil || !bytes.Equal(want, v.Payload) {
			t.Errorf("%s: the payload rebuilt from its fields is %x (%v), want %x", v.Name, want, err, v.Payload)
		}
	}
	for _, v := range f.Invalid {
		if got := readFrameErrors(v.Frame); len(got) == 0 || !slices.Equal(got, v.Errors) {
			t.Errorf("invalid %q: refused with %v, want %v", v.Name, got, v.Errors)
		}
	}
	for _, v := range f.InvalidPayloads {
		if got := payloadErrors(protocol.FrameType(v.Type), v.Payload); len(got) == 0 || !slices.Equal(got, v.Errors) {
			t.Errorf("invalid payload %q: refused with %v, want %v", v.Name, got, v.Errors)
		}
	}
}

// payloadOf rebuilds a frame's payload from the fields that describe it,
// and checks that the payload decodes back to them.
func payloadOf(v frameVector) ([]byte, error) {
	switch protocol.FrameType(v.Type) {
	case protocol.FrameHello:
		h, err := protocol.DecodeHello(v.Payload)
		if err != nil || h != *v.Hello {
			return nil, fmt.Errorf("hello decodes as %+v, %v", h, err)
		}
		return protocol.EncodeHello(*v.Hello), nil
	case protocol.FrameWant:
		ids := make([]protocol.ID, len(v.IDs))
		for i, id := range v.IDs {
			ids[i] = protocol.ID(id)
		}
		if got, err := protocol.DecodeIDs(v.Payload); err != nil || !slices.Equal(got, ids) {
			return nil, fmt.Errorf("want decodes as %x, %v", got, err)
		}
		return protocol.EncodeIDs(ids), nil
	case protocol.FrameWantKeys:
		keys := make([]uint64, len(v.Keys))
		for i, k := range v.Keys {
			keys[i], _ = strconv.ParseUint(k, 10, 64)
		}
		if got, err := protocol.DecodeKeys(v.Payload); err != nil || !slices.Equal(got, keys) {
			return nil, fmt.Errorf("want-keys decodes as %v, %v", got, err)
		}
		return protocol.EncodeKeys(keys), nil
	case protocol.FrameEnvelope:
		_, err := protocol.Decode(v.Payload)
		return v.Payload, err
	case protocol.FrameError:
		return []byte(v.Text), nil
	case protocol.FrameDone:
		return []byte{}, nil
	case protocol.FrameSketch:
		return sketchPayload(v.Payload, v.Sketch)
	case protocol.FrameReconcile:
		return reconcilePayload(v.Reconcile)
	}
	return nil, fmt.Errorf("unknown frame type %d", v.Type)
}

func sketchPayload(payload []byte, s *sketchVector) ([]byte, error) {
	m, err := sketch.Decode(payload)
	if err != nil || int(m.Kind) != s.Kind || m.N != s.N {
		return nil, fmt.Errorf("sketch message decodes as %+v, %v", m, err)
	}
	switch sketch.Kind(s.Kind) {
	case sketch.KindSize:
		return sketch.EncodeSize(s.N), nil
	case sketch.KindRetry:
		return sketch.EncodeRetry(s.N), nil
	case sketch.KindDecoded:
		return sketch.EncodeDecoded(), nil
	case sketch.KindTable:
		seed, _ := strconv.ParseUint(s.Seed, 10, 64)
		t := sketch.New(seed, s.Cells)
		for _, id := range s.IDs {
			t.Insert(sketch.Key(seed, protocol.ID(id)))
		}
		return sketch.EncodeTable(t), nil
	}
	return nil, fmt.Errorf("unknown sketch kind %d", s.Kind)
}

func reconcilePayload(r *rangesVector) ([]byte, error) {
	items := func(vs []itemVector) []reconcile.Item {
		out := make([]reconcile.Item, len(vs))
		for i, v := range vs {
			out[i] = reconcile.Item{Lamport: v.Lamport, ID: protocol.ID(v.ID)}
		}
		return out
	}
	start, err := reconcile.NewInitiator(items(r.Items), reconcile.Config{}).Start()
	if err != nil || r.Responder == nil {
		return start, err
	}
	return reconcile.Respond(items(r.Responder), start, reconcile.Config{})
}

func TestConformanceSketchKeysLandInTheirCells(t *testing.T) {
	var f keysFile
	if err := readVectors("sketch_keys.json", &f); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Keys {
		seed, _ := strconv.ParseUint(v.Seed, 10, 64)
		key := sketch.Key(seed, protocol.ID(v.ID))
		idx, check := placeOf(seed, key, v.Cells)
		if strconv.FormatUint(key, 10) != v.Key || fmt.Sprintf("%016x", key) != v.KeyHex {
			t.Errorf("seed %d, ID %x: key %d, want %s", seed, v.ID, key, v.Key)
		}
		if !slices.Equal(idx, v.CellIndex) || check != v.CheckHash {
			t.Errorf("seed %d, ID %x, %d cells: cells %v check %d, want %v %d", seed, v.ID, v.Cells, idx, check, v.CellIndex, v.CheckHash)
		}
	}
	for _, v := range f.Tables {
		seed, _ := strconv.ParseUint(v.Seed, 10, 64)
		tb := sketch.New(seed, v.Cells)
		for _, id := range v.IDs {
			tb.Insert(sketch.Key(seed, protocol.ID(id)))
		}
		if enc := sketch.EncodeTable(tb); !bytes.Equal(enc, v.Encoded) {
			t.Errorf("table of %d cells under %d: encodes as %x, want %x", v.Cells, seed, enc, v.Encoded)
		}
		if _, err := sketch.Decode(v.Encoded); err != nil {
			t.Errorf("table of %d cells under %d: refused: %v", v.Cells, seed, err)
		}
		if cells, s, err := parseTable(v.Encoded); err != nil || len(cells) != v.Cells || s != seed {
			t.Errorf("table of %d cells under %d: reads as %d cells under %d, %v", v.Cells, seed, len(cells), s, err)
		}
	}
}

func TestConformanceTranscriptsAreTheFramesOurNodeWrites(t *testing.T) {
	for _, name := range []string{"transcript_1.0.0.json", "transcript_1.1.0.json", "transcript_in_sync_1.0.0.json", "transcript_in_sync_1.1.0.json"} {
		var f transcriptFile
		if err := readVectors(name, &f); err != nil {
			t.Fatal(err)
		}
		ini, err := sideOf(f.Initiator)
		if err != nil {
			t.Fatalf("%s: initiator: %v", name, err)
		}
		resp, err := sideOf(f.Responder)
		if err != nil {
			t.Fatalf("%s: responder: %v", name, err)
		}
		seed, _ := strconv.ParseUint(f.SketchSeed, 10, 64)
		frames, err := simulateSync(f.Protocol, f.Room, ini, resp, seed)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(frames) != len(f.Frames) {
			t.Errorf("%s: %d frames, want %d", name, len(frames), len(f.Frames))
		}
		for i := range min(len(frames), len(f.Frames)) {
			got, want := frames[i], f.Frames[i]
			if got.From != want.From || got.Type != want.Type || got.Name != want.Name || !bytes.Equal(got.Payload, want.Payload) {
				t.Errorf("%s: frame %d is %s %s %x, want %s %s %x", name, i, got.From, got.Name, got.Payload, want.From, want.Name, want.Payload)
			}
		}
		// Whatever the exchange, its outcome is set arithmetic: each side
		// ends up with what the other held above the larger horizon.
		if !sameIDs(gains(ini, resp), f.InitiatorGains) || !sameIDs(gains(resp, ini), f.ResponderGains) {
			t.Errorf("%s: the gains do not follow from the holdings", name)
		}
		for from, want := range map[string][]hexBytes{"responder": f.InitiatorGains, "initiator": f.ResponderGains} {
			if got := messagesSent(t, f.Frames, from); !sameIDs(got, want) {
				t.Errorf("%s: the %s sends messages %x, want %x", name, from, got, want)
			}
		}
	}
}

// sideOf decodes one side of a transcript.
func sideOf(ts transcriptSide) (syncSide, error) {
	s := syncSide{horizon: ts.Horizon}
	for _, b := range ts.Envelopes {
		e, err := protocol.Decode(b)
		if err != nil {
			return s, err
		}
		s.messages = append(s.messages, e)
	}
	for _, b := range ts.Receipts {
		s.receipts = append(s.receipts, b)
	}
	return s, nil
}

// messagesSent returns the sorted IDs of the message envelopes from sends
// in frames, checking that every frame of the transcript reads back.
func messagesSent(t *testing.T, frames []transcriptRec, from string) []hexBytes {
	var out []hexBytes
	for _, fr := range frames {
		var buf bytes.Buffer
		if err := protocol.WriteFrame(&buf, protocol.FrameType(fr.Type), fr.Payload); err != nil {
			t.Fatal(err)
		}
		if _, _, err := protocol.ReadFrame(bufio.NewReader(&buf)); err != nil {
			t.Errorf("frame %s %s does not read back: %v", fr.From, fr.Name, err)
		}
		if fr.From != from || protocol.FrameType(fr.Type) != protocol.FrameEnvelope {
			continue
		}
		e, err := protocol.Decode(fr.Payload)
		if err != nil {
			t.Errorf("envelope from the %s refused: %v", from, err)
			continue
		}
		if e.Kind == protocol.KindMessage {
			id := e.ID()
			out = append(out, hexBytes(id[:]))
		}
	}
	slices.SortFunc(out, func(a, b hexBytes) int { return bytes.Compare(a, b) })
	return out
}

func sameIDs(a, b []hexBytes) bool {
	return slices.EqualFunc(a, b, func(x, y hexBytes) bool { return bytes.Equal(x, y) })
}
