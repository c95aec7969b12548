package web

import (
	"mime"
	"net/http"
	"path"
)

// pageStatic serves the embedded CSS, script and font. A URL carrying the
// file's current version is cached for a year: a counter PC fetches each
// file once per release.
func (s *Server) pageStatic(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(r.PathValue("path"))
	b, ok := s.ui.static[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	ver := s.ui.version[name]
	etag := `"` + ver + `"`
	h := w.Header()
	if r.URL.Query().Get("v") == ver {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	w.Write(b)
}
