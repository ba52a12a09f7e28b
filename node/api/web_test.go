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

// TestTheServiceWorkerKeepsEveryFileOfTheUI: the service worker's list of
// files (web/sw.js) is every file the UI needs, so that a reload while the
// node is down finds them all; the sign-in page and the worker itself
// stay out.
func TestTheServiceWorkerKeepsEveryFileOfTheUI(t *testing.T) {
	src, err := webFiles.ReadFile("web/sw.js")
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(src), "const SHELL = [")
	list, _, ok2 := strings.Cut(list, "];")
	if !ok || !ok2 {
		t.Fatal("sw.js has no SHELL list")
	}
	var kept []string
	for _, line := range strings.Split(list, "\n") {
		if line = strings.Trim(strings.TrimSpace(line), `",`); line != "" {
			kept = append(kept, line)
		}
	}
	want := []string{"/"}
	err = fs.WalkDir(webFiles, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch name := strings.TrimPrefix(p, "web"); name {
		case "/index.html", "/auth.html", "/auth.js", "/sw.js":
		default:
			want = append(want, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kept)
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("sw.js keeps %v\nwant %v", kept, want)
	}
	a := startAPINode(t, "")
	resp, err := http.Get(a.srv.URL + "/sw.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "worker-src 'self'") {
		t.Errorf("/sw.js: %d, %q, CSP %q; want a script under a CSP that allows it as a worker", resp.StatusCode,
			resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
	}
}
