package api

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/peerchat/peerchat/node"
)

// SessionProtocolPrefix is how the web UI's WebSocket carries its session:
// it offers the subprotocols WebSocketProtocol and SessionProtocolPrefix+ID,
// and the server answers with WebSocketProtocol. A page cannot set headers
// on a WebSocket, and a URL would put the session in logs.
const (
	SessionProtocolPrefix = "peerchat-session."
	WebSocketProtocol     = "peerchat"
)

// Why the browser holds a session and not a cookie: cookies ignore ports,
// so any cookie the node set on 127.0.0.1 with Path=/ would be sent to
// every other server on 127.0.0.1, whatever its port (a dev server,
// another program), and the same name on two nodes would clash. The UI
// keeps its session in localStorage, which browsers scope to the origin,
// port included, and sends it as a bearer token. docs/security.md says
// more.

// LoginURL is the link to print at start: opening it signs the browser in.
// The token is in the fragment, which the browser never sends: the sign-in
// page reads it, takes it out of the address bar, and exchanges it for a
// session.
func LoginURL(addr, token string) string {
	return "http://" + addr + "/auth#token=" + url.QueryEscape(token)
}

// authPage serves the sign-in page. It is the same page whatever the URL
// holds: the secret is in the fragment, which the server never sees.
func (s *Server) authPage(w http.ResponseWriter, r *http.Request) {
	data, err := webFiles.ReadFile("web/auth.html")
	if err != nil {
		s.fail(w, r, err) // the embedded tree is fixed at build time
		return
	}
	setUIHeaders(w)
	w.Header().Set("Content-Type", webTypes[".html"])
	w.Header().Set("Cache-Control", "no-store")
	w.Write(data)
}

type signInRequest struct {
	Token string `json:"token"`
}

// signIn exchanges the API token for a new browser session: POST /auth
// {"token": T} answers {"session": ID, "expires_after": SECONDS}. The
// session is kept by this Server; the token never needs to stay in the
// browser.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var req signInRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.token == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(req.Token)), []byte(s.token)) != 1 {
		s.fail(w, r, node.Errorf(node.CodeUnauthorized, "wrong token; use the link the node printed at start, or the content of the data folder's api-token file"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"session":       s.sessions.create(),
		"expires_after": int(s.sessions.ttl / time.Second),
	})
}

// signOut ends the session the request was made with: DELETE /v1/session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	cred, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if cred == "" || subtle.ConstantTimeCompare([]byte(cred), []byte(s.token)) == 1 {
		s.fail(w, r, node.Errorf(node.CodeInvalid, "this request was made with the API token, not a session: there is no session to end"))
		return
	}
	s.sessions.end(cred)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
