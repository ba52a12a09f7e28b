package api

import (
	"net/http"
	"strconv"

	"github.com/peerchat/peerchat/node"
	"github.com/peerchat/peerchat/protocol"
)

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	addrs := []string{}
	for _, a := range s.node.Addrs() {
		addrs = append(addrs, a.String())
	}
	// name_from_config says whether --name set the name, which then wins
	// over PUT /v1/name at the next start.
	writeJSON(w, http.StatusOK, map[string]any{
		"peer_id":          s.node.ID().String(),
		"name":             s.node.Name(),
		"name_from_config": s.node.NameFromConfig(),
		"addrs":            addrs,
		"version":          node.Version,
		"last_seq":         s.node.LastSeq(),
	})
}

func (s *Server) getPeers(w http.ResponseWriter, r *http.Request) {
	peers := s.node.Peers()
	if peers == nil {
		peers = []node.PeerInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"peers": peers})
}

func (s *Server) getRooms(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"rooms": s.node.Rooms()})
}

func (s *Server) joinRoom(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := s.node.JoinRoom(r.Context(), room); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"room": room})
}

func (s *Server) leaveRoom(w http.ResponseWriter, r *http.Request) {
	if err := s.node.LeaveRoom(r.Context(), r.PathValue("room")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type sendRequest struct {
	Text        *string `json:"text"`
	ClientMsgID string  `json:"client_msg_id"`
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Text == nil {
		s.fail(w, r, node.Errorf(node.CodeInvalid, `the field "text" is required`))
		return
	}
	msg, created, err := s.node.Send(r.Context(), r.PathValue("room"), *req.Text, req.ClientMsgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]protocol.Message{"message": msg})
}

func (s *Server) getMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, node.Errorf(node.CodeInvalid, "limit must be a number from 1 to 500"))
			return
		}
		limit = n
	}
	msgs, more, err := s.node.History(r.Context(), r.PathValue("room"), q.Get("before"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "more": more})
}

func (s *Server) postTyping(w http.ResponseWriter, r *http.Request) {
	sent, err := s.node.Typing(r.Context(), r.PathValue("room"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"sent": sent})
}

func (s *Server) postRead(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UpTo string `json:"up_to"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	room := r.PathValue("room")
	upTo, err := s.node.MarkRead(r.Context(), room, req.UpTo)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"room": room, "up_to": upTo})
}

func (s *Server) getMembers(w http.ResponseWriter, r *http.Request) {
	members, err := s.node.Members(r.Context(), r.PathValue("room"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": members})
}

func (s *Server) putPresence(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.node.SetPresence(r.Context(), req.Status); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": req.Status})
}

func (s *Server) getSync(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"syncs": s.node.Syncs()})
}
