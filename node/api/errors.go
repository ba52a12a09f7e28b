package api

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/node/store"
)

// RequestIDHeader carries the id the server gives every request. The same
// id is in the body of a failed request and in the log line that holds the
// failure's detail, so a user's report can be matched to the log.
const RequestIDHeader = "X-Request-Id"

// statusOf maps a node error code to its HTTP status. This is the only
// place that knows both.
func statusOf(code node.Code) int {
	switch code {
	case node.CodeInvalid:
		return http.StatusBadRequest
	case node.CodeUnauthorized:
		return http.StatusUnauthorized
	case node.CodeForbidden:
		return http.StatusForbidden
	case node.CodeNotFound:
		return http.StatusNotFound
	case node.CodeConflict:
		return http.StatusConflict
	case node.CodeGone:
		return http.StatusGone
	case node.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case node.CodeRateLimited:
		return http.StatusTooManyRequests
	case node.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON every failed request gets. Retry tells a client
// whether the same request may succeed later.
type errorBody struct {
	Error struct {
		Code      node.Code `json:"code"`
		Message   string    `json:"message"`
		Retry     bool      `json:"retry"`
		RequestID string    `json:"request_id,omitempty"`
	} `json:"error"`
}

// newRequestID returns a random id for one request: 26 characters of
// base32, unique enough to find one line in a log.
func newRequestID() string {
	return rand.Text()
}

// requestID returns the id ServeHTTP gave the request, making one if the
// answer has none yet.
func requestID(w http.ResponseWriter) string {
	id := w.Header().Get(RequestIDHeader)
	if id == "" {
		id = newRequestID()
		w.Header().Set(RequestIDHeader, id)
	}
	return id
}

// publicMessage is what a client may read of err. A 4xx message is about
// the client's own request and is shown whole. A 5xx one is about the
// node's insides: an internal error gets a generic message, and an
// unavailable one keeps the node's own words but not the wrapped cause,
// which can hold file paths and library errors. A full disk is the
// exception: it is the user's to fix, so they are told.
func publicMessage(code node.Code, err error, id string) string {
	var ne *node.Error
	isNode := errors.As(err, &ne)
	switch {
	case code == node.CodeInternal || !isNode:
		return "internal error in the node (request id " + id + "); its log has the detail"
	case code != node.CodeUnavailable || ne.Err == nil || errors.Is(ne.Err, store.ErrDiskFull):
		return ne.Message
	}
	var cause *node.Error
	if errors.As(ne.Err, &cause) {
		return ne.Message // the cause is the node's own words too
	}
	msg, found := strings.CutSuffix(ne.Message, ": "+ne.Err.Error())
	if !found {
		msg = "the node could not do that now"
	}
	return msg + " (request id " + id + "; the node's log has the detail)"
}

// fail answers a failed request. Failures of the node's own making
// (internal and unavailable) are logged with the detail the client does
// not get, under the request id both carry.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := node.ErrorCode(err)
	var body errorBody
	body.Error.Code = code
	body.Error.RequestID = requestID(w)
	body.Error.Message = publicMessage(code, err, body.Error.RequestID)
	s.logFailure(r, body.Error.RequestID, err)
	body.Error.Retry = code == node.CodeUnavailable || code == node.CodeRateLimited
	if body.Error.Retry {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, statusOf(code), body)
}

// logFailure logs err when it is the node's failure rather than the
// client's mistake.
func (s *Server) logFailure(r *http.Request, id string, err error) {
	switch node.ErrorCode(err) {
	case node.CodeInternal:
		s.log.Error("API request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "code", node.CodeInternal, "err", err)
	case node.CodeUnavailable:
		s.log.Warn("API request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "code", node.CodeUnavailable, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
