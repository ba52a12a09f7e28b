package signals

import "github.com/peerchat/peerchat/protocol"

// KnownMarker reports whether data is a receipt that could not move the
// marker this node holds for its author: one it holds already, or an
// older one. A peer sends every marker it holds on each sync, so most are
// known, and checking that before the signature costs a decode instead of
// a verification; in a room of 300 members, verifying them all was a third
// of every node's CPU. Skipping is safe whether or not the signature is
// good, because such a receipt changes nothing.
func (sig *Signals) KnownMarker(room string, data []byte) bool {
	env, err := protocol.DecodeStored(data)
	if err != nil || env.Kind != protocol.KindReceipt || env.Room != room {
		return false
	}
	b, err := protocol.DecodeReceipt(env)
	if err != nil {
		return false
	}
	id, err := protocol.ParseID(b.UpTo)
	if err != nil {
		return false
	}
	held, ok := sig.marker(room, env.Author, b.Kind)
	return ok && !(marker{b.UpToLamport, id}).after(held)
}
