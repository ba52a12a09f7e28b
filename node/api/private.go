package api

import (
	"net/http"
	"time"

	"github.com/peerchat/peerchat/node"
)

// The endpoints of private rooms and direct messages (docs/api.md,
// "Private rooms"). Messages of a private room are posted and read with
// the same endpoints as a public room's; the node seals and opens them.

type createRoomRequest struct {
	Name          string `json:"name"`
	Private       bool   `json:"private"`
	AutoApprove   bool   `json:"auto_approve"`
	SharedHistory bool   `json:"shared_history"`
	TTLSeconds    int64  `json:"invite_ttl_seconds"`
}

// createRoom creates a private room. Public rooms need no creation (PUT
// /v1/rooms/{room} joins one), so a request without "private": true is
// refused rather than guessed at.
func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) {
	var req createRoomRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if !req.Private {
		s.fail(w, r, node.Errorf(node.CodeInvalid, `only private rooms are created ("private": true); join a public room with PUT /v1/rooms/{room}`))
		return
	}
	if req.TTLSeconds < 0 {
		s.fail(w, r, node.Errorf(node.CodeInvalid, "invite_ttl_seconds must not be negative"))
		return
	}
	room, inv, err := s.node.Private().Create(r.Context(), req.Name, node.PrivateRoomOptions{
		AutoApprove: req.AutoApprove, SharedHistory: req.SharedHistory, InviteTTL: time.Duration(req.TTLSeconds) * time.Second,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"room": room, "invite": inv.Link, "id": inv.ID, "expires_at": inv.ExpiresAt})
}

func (s *Server) postInvite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TTLSeconds int64 `json:"ttl_seconds"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if req.TTLSeconds < 0 {
		s.fail(w, r, node.Errorf(node.CodeInvalid, "ttl_seconds must not be negative"))
		return
	}
	inv, err := s.node.Private().Invite(r.Context(), r.PathValue("room"), time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"invite": inv.Link, "id": inv.ID, "expires_at": inv.ExpiresAt})
}

func (s *Server) deleteInvite(w http.ResponseWriter, r *http.Request) {
	if err := s.node.Private().RevokeInvite(r.Context(), r.PathValue("room"), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// acceptInvite asks to join; the owner lets the user in later (a
// room.joined event), so the answer is 202 with the pending state.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Invite string `json:"invite"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Invite == "" {
		s.fail(w, r, node.Errorf(node.CodeInvalid, `the field "invite" is required`))
		return
	}
	room, err := s.node.Private().AcceptInvite(r.Context(), req.Invite)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"room": room, "state": "pending"})
}

func (s *Server) getJoinRequests(w http.ResponseWriter, r *http.Request) {
	reqs, err := s.node.Private().JoinRequests(r.PathValue("room"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
}

func (s *Server) approveJoin(w http.ResponseWriter, r *http.Request) {
	if err := s.node.Private().Approve(r.Context(), r.PathValue("room"), r.PathValue("peer_id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) refuseJoin(w http.ResponseWriter, r *http.Request) {
	if err := s.node.Private().Refuse(r.Context(), r.PathValue("room"), r.PathValue("peer_id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	if err := s.node.Private().Remove(r.Context(), r.PathValue("room"), r.PathValue("peer_id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putDM(w http.ResponseWriter, r *http.Request) {
	room, err := s.node.Private().DM(r.Context(), r.PathValue("peer_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"room": room})
}

func (s *Server) getPrivateRooms(w http.ResponseWriter, r *http.Request) {
	rooms := s.node.Private().List()
	if rooms == nil {
		rooms = []node.PrivateRoom{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
}
