package node

import (
	"context"
	"encoding/json"
	"time"

	"github.com/peerchat/peerchat/protocol"
)

// publishSignal signs an envelope of kind with body and gossips it in room.
// Signals are signed like messages so that nobody can type, appear online
// or mark messages read in another user's name.
func (n *Node) publishSignal(ctx context.Context, roomName, kind string, body any) error {
	r, err := n.joined(roomName)
	if err != nil {
		return err
	}
	env, err := n.signEnvelope(roomName, kind, body)
	if err != nil {
		return err
	}
	n.own.allow(roomName) // peers count signals against the limit too
	if err := r.topic.Publish(ctx, env.Bytes()); err != nil {
		return Errorf(CodeUnavailable, "publish %s: %w", kind, err)
	}
	return nil
}

// signEnvelope builds and signs an envelope from the local user.
func (n *Node) signEnvelope(roomName, kind string, body any) (*protocol.Envelope, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, Errorf(CodeInternal, "encode %s: %w", kind, err)
	}
	env := &protocol.Envelope{
		Kind:    kind,
		Room:    roomName,
		Lamport: n.store.NextLamport(),
		SentAt:  time.Now().UTC().Truncate(time.Millisecond),
		Body:    data,
	}
	if err := env.Sign(n.key); err != nil {
		return nil, Errorf(CodeInternal, "sign %s: %w", kind, err)
	}
	return env, nil
}
