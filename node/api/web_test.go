package api

import (
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// webJSFiles lists the UI's JavaScript files, as embedded.
func webJSFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := fs.WalkDir(webFiles, "web", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") {
			files = append(files, strings.TrimPrefix(p, "web/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestTheUIsModulesAreServedAsJavaScriptUnderTheCSP(t *testing.T) {
	a := startAPINode(t, "")
	files := webJSFiles(t)
	if len(files) < 5 {
		t.Fatalf("the UI has %d JavaScript files, want it split into modules: %v", len(files), files)
	}
	page, err := http.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(html), `<script type="module" src="app.js">`) {
		t.Errorf("index.html does not load app.js as a module")
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q: scripts must fall under default-src 'self'", csp)
	}
	for _, f := range files {
		resp, err := http.Get(a.srv.URL + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d, Content-Type %q, nosniff %q, CSP %q; want 200 text/javascript under nosniff and the CSP", f,
				resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Content-Security-Policy"))
		}
	}
}

// TestTheUIsFilesStaySmall holds the UI to the size rule of the Go code:
// no file over 600 lines, and the median at most 200.
func TestTheUIsFilesStaySmall(t *testing.T) {
	var lines []int
	for _, f := range webJSFiles(t) {
		data, err := webFiles.ReadFile("web/" + f)
		if err != nil {
			t.Fatal(err)
		}
		n := strings.Count(string(data), "\n")
		if n > 600 {
			t.Errorf("%s has %d lines, over 600: split it", f, n)
		}
		lines = append(lines, n)
	}
	slices.Sort(lines)
	if median := lines[len(lines)/2]; median > 200 {
		t.Errorf("the median JavaScript file has %d lines, over 200: %v", median, lines)
	}
	t.Logf("%d JavaScript files; lines: %v", len(lines), lines)
}
