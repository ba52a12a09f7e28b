package node

import (
	"context"
	"errors"

	"github.com/peerchat/peerchat/node/store"
	"github.com/peerchat/peerchat/protocol"
)

// RawEvent is an event as the log keeps it: its seq and its JSON, encoded
// once and sent unchanged to every client.
type RawEvent = store.RawEvent

// Events returns up to limit events after since, oldest first. A since
// older than the log keeps gives CodeGone; one newer than the newest event
// gives CodeInvalid. Neither is ever answered with a silent gap.
func (n *Node) Events(ctx context.Context, since uint64, limit int) ([]RawEvent, error) {
	evs, err := n.store.Events(ctx, since, limit)
	switch {
	case errors.Is(err, store.ErrGone):
		return nil, &Error{Code: CodeGone, Message: "events after this seq are no longer kept; reload history and resume from the newest seq", Err: err}
	case errors.Is(err, store.ErrAhead):
		return nil, &Error{Code: CodeInvalid, Message: err.Error(), Err: err}
	case err != nil:
		return nil, Errorf(CodeUnavailable, "read events: %w", err)
	}
	return evs, nil
}

// WaitEvents blocks until an event after since exists, or ctx ends.
func (n *Node) WaitEvents(ctx context.Context, since uint64) error {
	return n.store.WaitEvents(ctx, since)
}

// LastSeq returns the seq of the newest event.
func (n *Node) LastSeq() uint64 { return n.store.LastSeq() }

// Subscribe delivers every event after since on the returned channel, in
// order, until ctx ends or the node closes; then the channel is closed.
// It reads the log at its own pace, so a slow reader delays only itself.
func (n *Node) Subscribe(ctx context.Context, since uint64) (<-chan protocol.Event, error) {
	if _, err := n.Events(ctx, since, 1); err != nil {
		return nil, err
	}
	ch := make(chan protocol.Event)
	started := n.tasks.Go(func() {
		defer close(ch)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-n.tasks.Context().Done():
				cancel()
			case <-ctx.Done():
			}
		}()
		for {
			evs, err := n.store.Events(ctx, since, 256)
			if err != nil {
				n.cfg.Logger.Warn("event subscription ended", "since", since, "err", err)
				return
			}
			for _, raw := range evs {
				ev, err := store.DecodeEvent(raw)
				if err != nil {
					n.cfg.Logger.Warn("skip undecodable event", "seq", raw.Seq, "err", err)
					since = raw.Seq
					continue
				}
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
				since = raw.Seq
			}
			if len(evs) == 0 {
				if err := n.store.WaitEvents(ctx, since); err != nil {
					return
				}
			}
		}
	})
	if !started {
		return nil, Errorf(CodeUnavailable, "node is shutting down")
	}
	return ch, nil
}
