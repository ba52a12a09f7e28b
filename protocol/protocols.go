package protocol

// Libp2p protocol IDs peerchat speaks besides gossipsub. The major version
// is part of the ID so that incompatible peers fail at negotiation.
const (
	// SyncProtocol reconciles the history of one room between two peers.
	SyncProtocol = "/peerchat/sync/1.0.0"
)
