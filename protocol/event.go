package protocol

import "time"

// Event types a node reports to its UIs through the event log.
const (
	EventMessage       = "message"
	EventTyping        = "typing"
	EventPresence      = "presence"
	EventReceipt       = "receipt"
	EventMessageStatus = "message.status"
	EventSync          = "sync"
)

// Message statuses, for the local user's own messages.
const (
	MessageQueued    = "queued"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
)

// Event is one entry of a node's event log. Seq numbers are assigned by the
// node, increase by one per event and survive restarts, so a UI that
// remembers the last Seq it saw can resume without gaps or repeats. Which
// other fields are set depends on Type; docs/api.md lists them.
type Event struct {
	Seq     uint64   `json:"seq"`
	Type    string   `json:"type"`
	Room    string   `json:"room,omitempty"`
	Message *Message `json:"message,omitempty"`

	// typing, presence, receipt
	PeerID   string     `json:"peer_id,omitempty"`
	Name     string     `json:"name,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
	Status   string     `json:"status,omitempty"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
	Kind     string     `json:"kind,omitempty"`
	UpTo     string     `json:"up_to,omitempty"`

	// message.status
	ID        string `json:"id,omitempty"`
	Delivered *int   `json:"delivered,omitempty"`
	Read      *int   `json:"read,omitempty"`

	// sync
	Sync *SyncProgress `json:"sync,omitempty"`
}

// SyncProgress reports one reconciliation of a room with a peer.
type SyncProgress struct {
	Peer     string    `json:"peer_id"`
	State    string    `json:"state"` // "running", "done" or "failed"
	Received int       `json:"received"`
	Sent     int       `json:"sent"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}
