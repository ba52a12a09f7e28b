// Package api serves a node's local HTTP API, version 1: commands over
// REST and one resumable event stream over long polling, plain polling and
// WebSocket. It is a thin layer: every rule lives in package node, and this
// package only maps it to HTTP.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/peerchat/peerchat/node"
)

// MaxBodyBytes caps a request body. A message is at most 16,000
// characters, which is at most 64 KiB of UTF-8; JSON escaping can double
// that.
const MaxBodyBytes = 256 << 10

// CommandTimeout bounds every request but the event streams.
const CommandTimeout = 30 * time.Second

// Options configure a Server.
type Options struct {
	// Token is the bearer token every request must carry. Required.
	Token string
	// Logger receives the failures of the node's own making (internal
	// errors, and unavailable ones such as a failing disk), each with the
	// request id its client got, and the detail the client did not get.
	// Nil means slog.Default().
	Logger *slog.Logger
	// AllowedHosts are extra Host header values to accept, such as a name
	// the user put in /etc/hosts. The address the request arrived on, and
	// localhost on its port, are always accepted.
	AllowedHosts []string
	// SessionTTL is how long a browser session lasts unused; each use
	// renews it. Zero means SessionTTL, a week.
	SessionTTL time.Duration
	// RefuseWebSocket makes the WebSocket endpoint answer 503, as a proxy
	// that blocks WebSocket would. It exists to test the UI's fallback.
	RefuseWebSocket bool
}

// Server is an http.Handler for the local API of one node.
type Server struct {
	node  *node.Node
	token string
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux // the API under /v1/, behind the token
	ui    *http.ServeMux // the web UI and its sign-in page, open to the node's own origin

	sessions *sessions // the browsers signed in

	allowedHosts []string
}

// New returns the API handler for n.
func New(n *node.Node, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{node: n, token: opts.Token, opts: opts, log: opts.Logger, mux: http.NewServeMux(), ui: http.NewServeMux(),
		sessions: newSessions(opts.SessionTTL)}
	for _, h := range opts.AllowedHosts {
		s.allowedHosts = append(s.allowedHosts, strings.ToLower(h))
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	// Commands get a deadline: a stuck disk must not hold a client, or a
	// connection, forever. The event streams bound their own time.
	cmd := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, http.TimeoutHandler(h, CommandTimeout, `{"error":{"code":"unavailable","message":"the node did not answer in time","retry":true}}`))
	}
	cmd("GET /v1/node", s.getNode)
	cmd("GET /v1/peers", s.getPeers)
	cmd("GET /v1/rooms", s.getRooms)
	cmd("PUT /v1/rooms/{room}", s.joinRoom)
	cmd("DELETE /v1/rooms/{room}", s.leaveRoom)
	cmd("POST /v1/rooms/{room}/messages", s.postMessage)
	cmd("GET /v1/rooms/{room}/messages", s.getMessages)
	cmd("POST /v1/rooms/{room}/typing", s.postTyping)
	cmd("POST /v1/rooms/{room}/read", s.postRead)
	cmd("GET /v1/rooms/{room}/members", s.getMembers)
	cmd("PUT /v1/presence", s.putPresence)
	cmd("PUT /v1/name", s.putName)
	cmd("GET /v1/sync", s.getSync)
	cmd("DELETE /v1/session", s.signOut)
	// Private rooms and direct messages (private.go).
	cmd("POST /v1/rooms", s.createRoom)
	cmd("GET /v1/private", s.getPrivateRooms)
	cmd("POST /v1/rooms/{room}/invites", s.postInvite)
	cmd("DELETE /v1/rooms/{room}/invites/{id}", s.deleteInvite)
	cmd("POST /v1/invites", s.acceptInvite)
	cmd("GET /v1/rooms/{room}/requests", s.getJoinRequests)
	cmd("POST /v1/rooms/{room}/requests/{peer_id}", s.approveJoin)
	cmd("DELETE /v1/rooms/{room}/requests/{peer_id}", s.refuseJoin)
	cmd("DELETE /v1/rooms/{room}/members/{peer_id}", s.removeMember)
	cmd("PUT /v1/dms/{peer_id}", s.putDM)
	s.mux.HandleFunc("GET /v1/events", s.pollEvents)
	s.mux.HandleFunc("GET /v1/events/ws", s.eventsWebSocket)
	s.mux.HandleFunc("GET /v1/events/sse", s.eventsSSE)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, node.Errorf(node.CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	s.ui.HandleFunc("GET /auth", s.authPage)
	s.ui.HandleFunc("POST /auth", s.signIn)
	s.ui.Handle("GET /", webHandler())
}

// ServeHTTP refuses foreign hosts and origins, lets anyone load the web
// UI's static files and sign-in page, checks the token or session for
// everything else, caps the body and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer, JSON included, gets an id to match it to the log, and
	// nosniff: a browser must never read an API answer as a page or a
	// script.
	w.Header().Set(RequestIDHeader, newRequestID())
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !s.hostAllowed(r) {
		s.fail(w, r, node.Errorf(node.CodeForbidden, "Host %q is not this node's API address", r.Host))
		return
	}
	if !s.originAllowed(r) {
		s.fail(w, r, node.Errorf(node.CodeForbidden, "Origin %q may not use this API", r.Header.Get("Origin")))
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		s.ui.ServeHTTP(w, r)
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="peerchat"`)
		s.fail(w, r, node.Errorf(node.CodeUnauthorized, "missing or wrong API token, or an ended session: send Authorization: Bearer TOKEN (the token is in the data folder's api-token file)"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	s.mux.ServeHTTP(w, r)
}

// decodeBody reads a JSON request body into v with clear errors for the
// usual mistakes.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return node.Errorf(node.CodeTooLarge, "request body is over %d bytes", tooBig.Limit)
		case errors.Is(err, io.EOF):
			return node.Errorf(node.CodeInvalid, "request body is empty; send a JSON object")
		default:
			return node.Errorf(node.CodeInvalid, "request body is not valid JSON: %w", err)
		}
	}
	if dec.More() {
		return node.Errorf(node.CodeInvalid, "request body has data after the JSON object")
	}
	return nil
}
