package web

import "net/http"

// pageUserDisable disables a user and ends their sessions.
func (s *Server) pageUserDisable(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.auth.SetDisabled(r.Context(), v.User(), r.PathValue("username"), true); err != nil {
		return err
	}
	return redirect(w, r, "/users")
}
