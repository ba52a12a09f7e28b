package api

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// hostAllowed reports whether the request's Host names this server: the
// address it was accepted on, or localhost on the same port. Anything else
// is a DNS-rebinding attempt: a hostile page whose domain now resolves to
// 127.0.0.1 would send its own domain as Host.
func (s *Server) hostAllowed(r *http.Request) bool {
	host := strings.ToLower(r.Host)
	for _, h := range s.allowedHosts {
		if host == h {
			return true
		}
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ip, port, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	candidates := []string{net.JoinHostPort(ip, port)}
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsLoopback() {
		candidates = append(candidates, "localhost:"+port, "127.0.0.1:"+port, "[::1]:"+port)
	}
	for _, c := range candidates {
		if host == c {
			return true
		}
	}
	return false
}

// originAllowed reports whether a request that names its Origin comes from
// this server's own page. Browsers always send Origin on cross-site
// requests and WebSocket handshakes, so this stops other sites from
// driving the node (cross-site WebSocket hijacking included). Requests
// without Origin come from programs, not pages, and are judged by the
// token alone.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}

// authorized checks the request's credential: the API token or a browser
// session, as a bearer token, or for a WebSocket handshake (whose headers
// a page cannot set) a session offered as a subprotocol.
func (s *Server) authorized(r *http.Request) bool {
	if s.token == "" {
		return false
	}
	cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		cred = sessionProtocol(r)
	}
	if cred == "" {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(cred), []byte(s.token)) == 1 {
		return true
	}
	return s.sessions.use(cred)
}

// sessionProtocol returns the session a WebSocket handshake offers as the
// subprotocol SessionProtocolPrefix+ID, or "".
func sessionProtocol(r *http.Request) string {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return ""
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if id, ok := strings.CutPrefix(strings.TrimSpace(p), SessionProtocolPrefix); ok {
				return id
			}
		}
	}
	return ""
}
