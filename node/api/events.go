package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/peerchat/peerchat/node"
)

const (
	maxPollTimeout = 60 * time.Second
	pollBatch      = 500
	wsBatch        = 256
	wsPingEvery    = 30 * time.Second
	wsWriteTimeout = 10 * time.Second
)

// parseSince reads the since parameter: the seq of the last event the
// client has seen (0 for none).
func parseSince(r *http.Request) (uint64, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return 0, nil
	}
	since, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, node.Errorf(node.CodeInvalid, "since must be a non-negative integer seq")
	}
	return since, nil
}

// pollEvents serves long polling (timeout > 0) and plain polling
// (timeout = 0, the default).
func (s *Server) pollEvents(w http.ResponseWriter, r *http.Request) {
	since, err := parseSince(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	timeout := time.Duration(0)
	if v := r.URL.Query().Get("timeout"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 {
			s.fail(w, r, node.Errorf(node.CodeInvalid, "timeout must be a number of seconds from 0 to 60"))
			return
		}
		timeout = min(time.Duration(secs*float64(time.Second)), maxPollTimeout)
	}
	evs, err := s.node.Events(r.Context(), since, pollBatch)
	if err == nil && len(evs) == 0 && timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		if s.node.WaitEvents(ctx, since) == nil {
			evs, err = s.node.Events(r.Context(), since, pollBatch)
		}
		cancel()
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := since
	if len(evs) > 0 {
		next = evs[len(evs)-1].Seq
	}
	// The events' JSON was encoded once when they were logged; it is
	// spliced in as is.
	var buf bytes.Buffer
	buf.WriteString(`{"events":[`)
	for i, ev := range evs {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(ev.JSON)
	}
	buf.WriteString(`],"next":`)
	buf.WriteString(strconv.FormatUint(next, 10))
	buf.WriteString("}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// eventsWebSocket streams events after since, one JSON event per text
// frame, until the client goes away. The reader is the client's own
// position in the durable log, so a slow client delays only itself and
// never loses an event.
func (s *Server) eventsWebSocket(w http.ResponseWriter, r *http.Request) {
	id := requestID(w) // read before the upgrade takes the connection
	since, err := parseSince(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Refuse a gone or bad seq before upgrading, so the client gets a
	// readable HTTP error.
	if _, err := s.node.Events(r.Context(), since, 1); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.opts.RefuseWebSocket {
		s.fail(w, r, node.Errorf(node.CodeUnavailable, "WebSocket is turned off on this server; use /v1/events/sse or long polling"))
		return
	}
	// A page offers its session as a subprotocol (see authorized); the
	// answer names the plain one, as the handshake requires.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{WebSocketProtocol}})
	if err != nil {
		return // Accept has answered the client
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	for {
		evs, err := s.node.Events(ctx, since, wsBatch)
		if err != nil {
			s.logFailure(r, id, err)
			code := websocket.StatusInternalError
			if node.ErrorCode(err) == node.CodeGone {
				code = websocket.StatusPolicyViolation
			}
			conn.Close(code, closeReason(err, id))
			return
		}
		for _, ev := range evs {
			wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
			err := conn.Write(wctx, websocket.MessageText, ev.JSON)
			cancel()
			if err != nil {
				return
			}
			since = ev.Seq
		}
		if len(evs) > 0 {
			continue
		}
		// Wait for the next event, but no longer than the ping interval:
		// a ping keeps idle connections alive through proxies and finds
		// dead clients.
		waitCtx, cancel := context.WithTimeout(ctx, wsPingEvery)
		err = s.node.WaitEvents(waitCtx, since)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			pctx, pcancel := context.WithTimeout(ctx, wsWriteTimeout)
			err = conn.Ping(pctx)
			pcancel()
		}
		if err != nil {
			return
		}
	}
}

// closeReason is what a stream tells its client when it ends on an error:
// the code and the request id, never the detail, which is in the log.
func closeReason(err error, id string) string {
	b, _ := json.Marshal(map[string]string{"code": string(node.ErrorCode(err)), "request_id": id})
	if len(b) > 120 {
		return string(node.ErrorCode(err))
	}
	return string(b)
}

// eventsSSE streams events as Server-Sent Events: `id:` is the seq, and a
// reconnecting EventSource resumes from its Last-Event-ID header.
func (s *Server) eventsSSE(w http.ResponseWriter, r *http.Request) {
	id := requestID(w)
	since, err := parseSince(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.fail(w, r, node.Errorf(node.CodeInvalid, "Last-Event-ID must be a seq"))
			return
		}
	}
	if _, err := s.node.Events(r.Context(), since, 1); err != nil {
		s.fail(w, r, err)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, node.Errorf(node.CodeInternal, "streaming is not supported by this connection"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 1000\n\n"))
	flusher.Flush()
	ctx := r.Context()
	var buf bytes.Buffer
	for {
		evs, err := s.node.Events(ctx, since, wsBatch)
		if err != nil {
			s.logFailure(r, id, err)
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", closeReason(err, id))
			flusher.Flush()
			return
		}
		buf.Reset()
		for _, ev := range evs {
			fmt.Fprintf(&buf, "id: %d\ndata: %s\n\n", ev.Seq, ev.JSON)
			since = ev.Seq
		}
		if len(evs) > 0 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			flusher.Flush()
			continue
		}
		waitCtx, cancel := context.WithTimeout(ctx, wsPingEvery)
		err = s.node.WaitEvents(waitCtx, since)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			// A comment line keeps the connection alive through proxies.
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			flusher.Flush()
		} else if err != nil {
			return
		}
	}
}
