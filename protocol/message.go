package protocol

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxTextLen is the longest message text, in characters.
const MaxTextLen = 16000

// MaxClientMsgIDLen bounds the idempotency key a client may attach.
const MaxClientMsgIDLen = 128

// MessageBody is the body of a KindMessage envelope, JSON encoded. The
// author's display name travels with each message so that peers can show it
// without a directory.
type MessageBody struct {
	Text        string `json:"text"`
	AuthorName  string `json:"name,omitempty"`
	ClientMsgID string `json:"client_msg_id,omitempty"`
}

// Message is a chat message as UIs see it: an envelope of kind message with
// its body decoded.
type Message struct {
	ID          string    `json:"id"`
	Room        string    `json:"room"`
	Author      string    `json:"author"`
	AuthorName  string    `json:"author_name"`
	Text        string    `json:"text"`
	Lamport     uint64    `json:"lamport"`
	SentAt      time.Time `json:"sent_at"`
	ClientMsgID string    `json:"client_msg_id,omitempty"`
}

// ValidateText checks the length rules for message text.
func ValidateText(text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("text is not valid UTF-8")
	}
	n := utf8.RuneCountInString(text)
	if n == 0 {
		return fmt.Errorf("text is empty")
	}
	if n > MaxTextLen {
		return fmt.Errorf("text is %d characters, the limit is %d", n, MaxTextLen)
	}
	return nil
}

// MessageFromEnvelope decodes the body of a message envelope.
func MessageFromEnvelope(e *Envelope) (Message, error) {
	if e.Kind != KindMessage {
		return Message{}, fmt.Errorf("%w: %q is not a message", ErrKind, e.Kind)
	}
	return readMessage(e, e.Body, "message", func() error { return strictBody(e, messageFields) })
}

// readMessage reads a message body (an envelope's, or a sealed message's
// plaintext) into a Message of e; strict is the canonical-body check,
// which the caller chooses: a stored body from before the rules is read
// as stored, an opened plaintext always strictly.
func readMessage(e *Envelope, data []byte, what string, strict func() error) (Message, error) {
	var body MessageBody
	if err := json.Unmarshal(data, &body); err != nil {
		return Message{}, fmt.Errorf("%w: %s body: %w", ErrMalformed, what, err)
	}
	if err := strict(); err != nil {
		return Message{}, fmt.Errorf("%w: %s %w", ErrMalformed, what, err)
	}
	if err := ValidateText(body.Text); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return Message{
		ID:          e.ID().String(),
		Room:        e.Room,
		Author:      e.Author.String(),
		AuthorName:  body.AuthorName,
		Text:        body.Text,
		Lamport:     e.Lamport,
		SentAt:      e.SentAt,
		ClientMsgID: body.ClientMsgID,
	}, nil
}
