package api

import (
	"net/http"

	"github.com/peerchat/peerchat/node"
)

// putName sets the display name: PUT /v1/name {"name":"Ada"}. The node
// validates it, keeps it for the next start, and announces it at once.
func (s *Server) putName(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name *string `json:"name"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Name == nil {
		s.fail(w, r, node.Errorf(node.CodeInvalid, `the field "name" is required`))
		return
	}
	if err := s.node.SetName(r.Context(), *req.Name); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": s.node.Name(), "name_from_config": s.node.NameFromConfig()})
}
