package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSignInExchangesTheTokenForASessionThatAuthorizesTheAPI(t *testing.T) {
	a := startAPINode(t, "")
	link := LoginURL("127.0.0.1:7777", testToken)
	if !strings.HasPrefix(link, "http://127.0.0.1:7777/auth#token=") || strings.Contains(link, "?") {
		t.Errorf("the link %q must carry the token in the fragment, which browsers never send", link)
	}
	for _, tok := range []string{"", "wrong", testToken + "x"} {
		resp, err := http.Post(a.srv.URL+"/auth", "application/json", bytes.NewBufferString(`{"token":"`+tok+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("sign in with %q: %d, want 401", tok, resp.StatusCode)
		}
	}
	resp, err := http.Post(a.srv.URL+"/auth", "application/json", bytes.NewBufferString(`{"token":"`+testToken+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || len(resp.Cookies()) != 0 {
		t.Fatalf("sign in: %d, Cache-Control %q, cookies %v; want 200, no-store and no cookie", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Cookies())
	}
	s1, s2 := a.signIn(), a.signIn()
	if s1 == s2 || len(s1) < 40 || strings.Contains(s1, testToken) {
		t.Fatalf("sessions %q and %q: want two random ids unrelated to the token", s1, s2)
	}
	for _, s := range []string{s1, s2} {
		if st := a.doWith("GET", "/v1/node", nil, nil, s); st != 200 {
			t.Fatalf("API with a session: %d", st)
		}
	}
	if st := a.doWith("GET", "/v1/node", nil, nil, s1+"x"); st != 401 {
		t.Fatalf("API with a made-up session: %d, want 401", st)
	}
}

func TestTheSignInPageIsNotCachedAndSetsNothing(t *testing.T) {
	a := startAPINode(t, "")
	resp, err := http.Get(a.srv.URL + "/auth")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Security-Policy") != csp || len(resp.Cookies()) != 0 {
		t.Fatalf("sign-in page: %d %q, Cache-Control %q, CSP %q, cookies %v", resp.StatusCode, resp.Header.Get("Content-Type"),
			resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Security-Policy"), resp.Cookies())
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("the CSP allows inline code: %s", csp)
	}
}

func TestSignOutEndsTheSessionOnTheNode(t *testing.T) {
	a := startAPINode(t, "")
	s, other := a.signIn(), a.signIn()
	if st := a.doWith("DELETE", "/v1/session", nil, nil, s); st != 204 {
		t.Fatalf("sign out: %d, want 204", st)
	}
	if st := a.doWith("GET", "/v1/node", nil, nil, s); st != 401 {
		t.Fatalf("API with an ended session: %d, want 401", st)
	}
	if st := a.doWith("GET", "/v1/node", nil, nil, other); st != 200 {
		t.Fatalf("another browser's session after a sign-out: %d, want 200", st)
	}
	if st := a.do("DELETE", "/v1/session", nil, nil); st != 400 {
		t.Fatalf("sign out with the API token: %d, want 400", st)
	}
	if st := a.do("GET", "/v1/node", nil, nil); st != 200 {
		t.Fatalf("the API token after sign-outs: %d", st)
	}
}

func TestASessionLastsWhileUsedAndEndsWhenLeftAlone(t *testing.T) {
	const ttl = time.Second
	a := startUINode(t, "n", Options{SessionTTL: ttl})
	s := a.signIn()
	// Used every 100 ms, it outlives its TTL over and over.
	start := time.Now()
	waitFor(t, 10*time.Second, "three TTLs of use", func() bool {
		if st := a.doWith("GET", "/v1/node", nil, nil, s); st != 200 {
			t.Fatalf("a session in use ended after %s: %d", time.Since(start), st)
		}
		time.Sleep(100 * time.Millisecond) // the pace of use, not a wait for a condition
		return time.Since(start) > 5*ttl/2
	})
	// Left alone, it ends.
	last := time.Now()
	waitFor(t, 10*time.Second, "the unused session to end", func() bool {
		if time.Since(last) < ttl {
			return false // asking would renew it
		}
		return a.doWith("GET", "/v1/node", nil, nil, s) == 401
	})
}
