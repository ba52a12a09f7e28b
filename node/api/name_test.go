package api

import (
	"strings"
	"testing"
)

// TestPutNameSetsTheNameOrSaysWhyNot: PUT /v1/name changes what GET
// /v1/node reports, and a bad name gets 400 with a clear message and
// changes nothing.
func TestPutNameSetsTheNameOrSaysWhyNot(t *testing.T) {
	a := startAPINode(t, "")
	var out struct {
		Name           string `json:"name"`
		NameFromConfig bool   `json:"name_from_config"`
	}
	if st := a.do("PUT", "/v1/name", map[string]string{"name": "Ada"}, &out); st != 200 || out.Name != "Ada" {
		t.Fatalf("PUT /v1/name: %d %+v", st, out)
	}
	if !out.NameFromConfig {
		t.Error("name_from_config is false, but the test node was started with a name")
	}
	if st := a.do("GET", "/v1/node", nil, &out); st != 200 || out.Name != "Ada" {
		t.Errorf("GET /v1/node after PUT: %d %+v", st, out)
	}
	for body, want := range map[string]string{
		`{"name":""}`: "empty",
		`{"name":"` + strings.Repeat("x", 65) + `"}`: "limit is 64",
		`{"name":"a\nb"}`: "control character",
		`{}`:              `"name" is required`,
	} {
		var e errorJSON
		if st := a.do("PUT", "/v1/name", body, &e); st != 400 || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, want) {
			t.Errorf("PUT /v1/name %s: %d %+v, want 400 invalid saying %q", body, st, e, want)
		}
	}
	if a.do("GET", "/v1/node", nil, &out); out.Name != "Ada" {
		t.Errorf("a refused name changed the name to %q", out.Name)
	}
}
