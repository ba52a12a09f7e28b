package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetricsAndSignInLinkArePrintedAndServed(t *testing.T) {
	metricsAddr := freeAPIAddr(t)
	p := startLocalNode(t, "metered", t.TempDir(), "--metrics", metricsAddr, "--join", "m")
	link := p.waitLine("web UI: http://", startTimeout)
	if !strings.Contains(link, "/auth#token="+p.token) {
		t.Fatalf("sign-in link %q does not carry the token", link)
	}
	p.call("POST", "/v1/rooms/m/messages", map[string]string{"text": "count me"}, nil, http.StatusCreated)
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "peerchat_messages_sent_total 1") {
		t.Fatalf("metrics lack the sent counter:\n%s", body)
	}
}
