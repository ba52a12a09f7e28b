package api

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// webFiles is the web UI, embedded so that one binary carries everything
// and the UI works with no internet. Its JavaScript is ES modules served as
// they are: there is no build step.
//
//go:embed web
var webFiles embed.FS

// webTypes are the Content-Types of the UI's files. They are set here, not
// looked up: mime.TypeByExtension reads the system's tables, which on some
// machines map .js to text/plain, and a browser refuses a module script
// with a non-JavaScript type under nosniff.
var webTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".png":  "image/png",
	".svg":  "image/svg+xml",
}

// csp lets the UI load only its own files: no inline script or style
// (styles are set through CSSOM, which a CSP does not govern), no other
// origin, no framing. worker-src names the service worker (web/sw.js),
// which default-src allows too: it is said here so that a tighter
// default-src later cannot drop it unnoticed.
const csp = "default-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// setUIHeaders sets the headers of every UI file.
func setUIHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func webHandler() http.Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setUIHeaders(w)
		if r.URL.Path != "/" && strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no listing of the UI's folders
			return
		}
		name := path.Base(r.URL.Path)
		if name == "/" || name == "." {
			name = "index.html"
		}
		if t, ok := webTypes[path.Ext(name)]; ok {
			w.Header().Set("Content-Type", t)
		}
		files.ServeHTTP(w, r)
	})
}
