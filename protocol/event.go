package protocol

// Event types a node reports to its UIs through the event log.
const (
	EventMessage = "message"
)

// Event is one entry of a node's event log. Seq numbers are assigned by the
// node, increase by one per event and survive restarts, so a UI that
// remembers the last Seq it saw can resume without gaps or repeats.
type Event struct {
	Seq     uint64   `json:"seq"`
	Type    string   `json:"type"`
	Room    string   `json:"room,omitempty"`
	Message *Message `json:"message,omitempty"`
}
