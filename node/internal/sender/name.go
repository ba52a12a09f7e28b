package sender

// The display name sent with each message can change while the node runs
// (Node.SetName), so it is read under its own lock rather than from the
// fixed Config: a send that races a rename carries one name or the other,
// whole.

// SetName sets the display name of the messages sent from now on.
func (s *Sender) SetName(name string) {
	s.nameMu.Lock()
	s.name = name
	s.nameMu.Unlock()
}

// authorName is the display name to send with a message.
func (s *Sender) authorName() string {
	s.nameMu.Lock()
	defer s.nameMu.Unlock()
	return s.name
}
