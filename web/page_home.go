package web

import "net/http"

// pageHome shows the pages the user's role may open, as large tiles.
func (s *Server) pageHome(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title = v.T("Home")
	return v.Render(w, http.StatusOK, "home", v)
}
