package node

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

// refusalTo opens a sync stream from a to b, sends the frames, and
// returns the reason of the Error frame b answers with, after b's Hello
// if it sends one.
func refusalTo(t *testing.T, a, b *Node, frames func(w *bufio.Writer)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := a.Host().NewStream(ctx, b.ID(), protocol.SyncProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	s.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(s)
	frames(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(s)
	for {
		typ, payload, err := protocol.ReadFrame(rd)
		if err != nil {
			t.Fatalf("no Error frame before the stream ended: %v", err)
		}
		if typ == protocol.FrameError {
			return string(payload)
		}
	}
}

func hello(w *bufio.Writer, room string) {
	protocol.WriteFrame(w, protocol.FrameHello, protocol.EncodeHello(protocol.Hello{Room: room}))
}

func TestASyncPeerIsToldWhyItsFramesAreRefused(t *testing.T) {
	a, b := pair(t, "told")
	for name, c := range map[string]struct {
		frames func(w *bufio.Writer)
		reason string
	}{
		"a frame of an unknown type": {func(w *bufio.Writer) { w.Write([]byte{0x7f, 0x00}) }, protocol.ReasonMalformed},
		"no Hello first":             {func(w *bufio.Writer) { protocol.WriteFrame(w, protocol.FrameDone, nil) }, protocol.ReasonUnexpected},
		"a room it is not in":        {func(w *bufio.Writer) { hello(w, "elsewhere") }, protocol.ReasonRoomNotJoined},
		"a forged envelope": {func(w *bufio.Writer) {
			hello(w, "told")
			protocol.WriteFrame(w, protocol.FrameEnvelope, []byte("not an envelope"))
		}, protocol.ReasonInvalidEnvelope},
		"a Want beyond the room": {func(w *bufio.Writer) {
			hello(w, "told")
			protocol.WriteFrame(w, protocol.FrameWant, protocol.EncodeIDs([]protocol.ID{{1}}))
		}, protocol.ReasonLimit},
	} {
		t.Run(name, func(t *testing.T) {
			if got := refusalTo(t, a, b, c.frames); got != c.reason {
				t.Fatalf("Error %q, want %q", got, c.reason)
			}
		})
	}
}

func TestTheNodeAnnouncesItsAgentVersion(t *testing.T) {
	a, b := pair(t, "agents")
	var got any
	waitFor(t, 5*time.Second, "identify to record b's agent version", func() bool {
		v, err := a.Host().Peerstore().Get(b.ID(), "AgentVersion")
		got = v
		return err == nil
	})
	if want := "peerchat/" + Version; got != want {
		t.Fatalf("agent version %q, want %q", got, want)
	}
}
