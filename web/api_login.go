package web

import (
	"net/http"

	"kavach/access"

	"kavach"
)

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := Decode(r, &in); err != nil {
		apiError(s, w, r, err)
		return
	}
	f := kavach.Fields{}
	if in.Username == "" {
		f.Add("username", "Username is required")
	}
	if in.Password == "" {
		f.Add("password", "Password is required")
	}
	if err := f.Err(); err != nil {
		apiError(s, w, r, err)
		return
	}
	token, sess, err := s.auth.Login(r.Context(), in.Username, in.Password, "api", s.client(r))
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"token": token, "username": sess.User.Username, "role": sess.User.Role, "expires": sess.Expires,
		"must_change_password": sess.MustChange})
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	if err := s.auth.Logout(r.Context(), sess); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
