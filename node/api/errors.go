package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/peerchat/peerchat/node"
)

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
		Code    node.Code `json:"code"`
		Message string    `json:"message"`
		Retry   bool      `json:"retry"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	var body errorBody
	var ne *node.Error
	if errors.As(err, &ne) {
		body.Error.Code, body.Error.Message = ne.Code, ne.Message
	} else {
		body.Error.Code, body.Error.Message = node.CodeInternal, err.Error()
	}
	body.Error.Retry = body.Error.Code == node.CodeUnavailable || body.Error.Code == node.CodeRateLimited
	if body.Error.Retry {
		w.Header().Set("Retry-After", "1")
	}
	status := statusOf(body.Error.Code)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
