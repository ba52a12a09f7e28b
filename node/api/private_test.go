package api

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

type inviteJSON struct {
	Room      string `json:"room"`
	Invite    string `json:"invite"`
	ID        string `json:"id"`
	ExpiresAt string `json:"expires_at"`
}

func texts(msgs []messageJSON) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func (a *apiNode) holds(room string) bool {
	var out struct {
		Rooms []struct {
			Room string `json:"room"`
			Held bool   `json:"held"`
		}
	}
	a.do("GET", "/v1/private", nil, &out)
	for _, r := range out.Rooms {
		if r.Room == room {
			return r.Held
		}
	}
	return false
}

func TestAPrivateRoomIsCreatedJoinedByInviteAndReadThroughTheMessageEndpoints(t *testing.T) {
	owner := startAPINode(t, "")
	member := startAPINode(t, "", owner)
	var created inviteJSON
	if st := owner.do("POST", "/v1/rooms", map[string]any{"name": "club", "private": true, "auto_approve": true}, &created); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	if created.Room == "" || created.Invite == "" || created.ID == "" || created.ExpiresAt == "" {
		t.Fatalf("create answered %+v", created)
	}
	var accepted struct{ Room, State string }
	if st := member.do("POST", "/v1/invites", map[string]string{"invite": created.Invite}, &accepted); st != http.StatusAccepted || accepted.Room != created.Room || accepted.State != "pending" {
		t.Fatalf("accept: status %d, %+v", st, accepted)
	}
	waitFor(t, 30*time.Second, "the member let in", func() bool { return member.holds(created.Room) })
	owner.send(created.Room, "from the owner", "")
	member.send(created.Room, "from the member", "")
	for _, a := range []*apiNode{owner, member} {
		waitFor(t, 30*time.Second, "both texts", func() bool {
			got := texts(a.history(created.Room))
			return slices.Contains(got, "from the owner") && slices.Contains(got, "from the member")
		})
	}
	if st := member.do("DELETE", "/v1/rooms/"+created.Room+"/members/"+owner.node.ID().String(), nil, nil); st != http.StatusForbidden {
		t.Fatalf("a member removing the owner: status %d, want 403", st)
	}
	if st := owner.do("DELETE", "/v1/rooms/"+created.Room+"/members/"+member.node.ID().String(), nil, nil); st != http.StatusNoContent {
		t.Fatalf("remove: status %d", st)
	}
}

func TestInviteEndpointsAnswerWithTheirStatuses(t *testing.T) {
	owner := startAPINode(t, "")
	other := startAPINode(t, "")
	var created inviteJSON
	if st := owner.do("POST", "/v1/rooms", map[string]any{"name": "club", "private": true}, &created); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	var errOut errorJSON
	if st := owner.do("POST", "/v1/rooms", map[string]any{"name": "open"}, &errOut); st != http.StatusBadRequest || errOut.Error.Code != "invalid" {
		t.Fatalf("a public room by POST: status %d %+v", st, errOut)
	}
	var inv inviteJSON
	if st := owner.do("POST", "/v1/rooms/"+created.Room+"/invites", map[string]int{"ttl_seconds": 60}, &inv); st != http.StatusCreated || inv.Invite == "" || inv.ID == "" {
		t.Fatalf("invite: status %d %+v", st, inv)
	}
	if st := owner.do("DELETE", "/v1/rooms/"+created.Room+"/invites/"+inv.ID, nil, nil); st != http.StatusNoContent {
		t.Fatalf("revoke: status %d", st)
	}
	if st := owner.do("DELETE", "/v1/rooms/"+created.Room+"/invites/00112233445566778899aabbccddeeff", nil, nil); st != http.StatusNotFound {
		t.Fatalf("revoke unknown: status %d, want 404", st)
	}
	if st := other.do("POST", "/v1/rooms/"+created.Room+"/invites", nil, nil); st != http.StatusNotFound {
		t.Fatalf("invite to a room one is not in: status %d, want 404", st)
	}
	if st := other.do("POST", "/v1/invites", map[string]string{"invite": "peerchat://join/pv1-x#AAAA"}, nil); st != http.StatusBadRequest {
		t.Fatalf("a malformed invite: status %d, want 400", st)
	}
	var reqs struct {
		Requests []any `json:"requests"`
	}
	if st := owner.do("GET", "/v1/rooms/"+created.Room+"/requests", nil, &reqs); st != http.StatusOK || reqs.Requests == nil {
		t.Fatalf("requests: status %d %+v", st, reqs)
	}
	if st := owner.do("POST", "/v1/rooms/"+created.Room+"/requests/"+other.node.ID().String(), nil, nil); st != http.StatusNotFound {
		t.Fatalf("approving no request: status %d, want 404", st)
	}
	var dm struct{ Room string }
	if st := owner.do("PUT", "/v1/dms/"+other.node.ID().String(), nil, &dm); st != http.StatusOK || dm.Room == "" {
		t.Fatalf("dm: status %d %+v", st, dm)
	}
	if st := owner.do("PUT", "/v1/dms/not-a-peer", nil, nil); st != http.StatusBadRequest {
		t.Fatalf("dm with a bad peer ID: status %d, want 400", st)
	}
}
