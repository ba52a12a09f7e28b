// Package names remembers the display name each peer last gave, from its
// messages, typing signals and presence, so that every part of the node
// shows a peer by the same name.
package names

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Book maps peers to their display names. Its methods are safe for
// concurrent use; the zero value is not usable, use New.
type Book struct {
	mu    sync.Mutex
	names map[peer.ID]string // guarded by mu
}

// New returns an empty book.
func New() *Book { return &Book{names: map[peer.ID]string{}} }

// Note records p's name; an empty name changes nothing.
func (b *Book) Note(p peer.ID, name string) {
	if name == "" {
		return
	}
	b.mu.Lock()
	b.names[p] = name
	b.mu.Unlock()
}

// Name returns p's last known name, or "".
func (b *Book) Name(p peer.ID) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.names[p]
}
