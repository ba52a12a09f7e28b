package main

import (
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/peerchat/peerchat/node/gossip"
	"github.com/peerchat/peerchat/protocol"
)

// kindCounter is a gossipsub tracer that counts, by envelope kind, the
// envelopes entering a node's validation pipeline (first copies only:
// gossipsub drops duplicates before validating). Every one costs a
// signature verification, so the counts say which traffic the CPU
// profile's ed25519 time belongs to. Reading the kind does not verify.
type kindCounter struct {
	gossip.NopTracer // the methods not counted

	mu     sync.Mutex
	counts map[string]int
}

func newKindCounter() *kindCounter { return &kindCounter{counts: map[string]int{}} }

func (k *kindCounter) snapshot() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]int, len(k.counts))
	for kind, n := range k.counts {
		out[kind] = n
	}
	return out
}

func (k *kindCounter) ValidateMessage(m *pubsub.Message) {
	kind := "undecodable"
	if env, err := protocol.DecodeStored(m.Data); err == nil {
		kind = env.Kind
	}
	k.mu.Lock()
	k.counts[kind]++
	k.mu.Unlock()
}

// addKinds adds b's counts to a.
func addKinds(a, b map[string]int) {
	for k, v := range b {
		a[k] += v
	}
}
