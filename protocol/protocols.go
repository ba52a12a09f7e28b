package protocol

// Libp2p protocol IDs peerchat speaks besides gossipsub. The major version
// is part of the ID so that incompatible peers fail at negotiation.
const (
	// SyncProtocol reconciles the history of one room between two peers
	// with range-based set reconciliation.
	SyncProtocol = "/peerchat/sync/1.0.0"
	// SyncSketchProtocol reconciles it with an invertible Bloom lookup
	// table first (package protocol/sketch), which costs bytes in
	// proportion to the difference wherever it lies in the history, and
	// falls back to SyncProtocol's reconciliation on the same stream.
	SyncSketchProtocol = "/peerchat/sync/1.1.0"
)
