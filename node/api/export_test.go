package api

import "net/http"

// handleForTest adds a route to s's API, behind the same guard as every
// other, whose handler fails with err: the way to show what a client gets
// when the node fails in ways a healthy test node never does.
func (s *Server) handleForTest(pattern string, err error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.fail(w, r, err) })
}
