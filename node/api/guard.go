package api

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/peerchat/peerchat/node"
)

// CookieName is the cookie that carries the token for the web UI, whose
// WebSocket and EventSource connections cannot set an Authorization header.
const CookieName = "peerchat_token"

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

// authorized checks the bearer token, or the UI's cookie.
func (s *Server) authorized(r *http.Request) bool {
	if s.token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		c, err := r.Cookie(CookieName)
		if err != nil {
			return false
		}
		got = c.Value
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
}

// login serves /auth?token=T, the link the node prints at start (as
// Jupyter does): a correct token becomes an HttpOnly, SameSite=Strict
// cookie and the browser is sent to the UI, so the user never types it.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 || s.token == "" {
		s.fail(w, r, node.Errorf(node.CodeUnauthorized, "wrong or missing token in the link; use the link the node printed at start"))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    s.token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Expires:  time.Now().Add(365 * 24 * time.Hour),
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// LoginURL is the link to print at start: opening it signs the browser in.
func LoginURL(addr, token string) string {
	return "http://" + addr + "/auth?token=" + url.QueryEscape(token)
}
