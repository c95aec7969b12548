package web

import "net/http"

// pageLogout ends the session and clears its cookie.
func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request, v *View) error {
	if err := s.auth.Logout(r.Context(), v.Sess); err != nil {
		return err
	}
	s.setSessionCookie(w, r, "")
	return Redirect(w, r, "/login")
}
