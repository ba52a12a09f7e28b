package node

import (
	"fmt"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// LoadOrCreateIdentity returns the identity key kept in the data folder
// dir, creating the folder and the key on first use, exactly as a node or
// relay started on dir would. Knowing a relay's peer ID before starting it
// is what lets an operator publish the relay's address, and a test
// configure nodes with it.
func LoadOrCreateIdentity(dir string) (crypto.PrivKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	return loadOrCreateKey(dir)
}
