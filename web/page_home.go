package web

import "net/http"

// pageHome shows the pages the user's role may open, as large tiles.
func (s *Server) pageHome(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = v.T("Home")
	return s.render(w, v, http.StatusOK, "home", v)
}
