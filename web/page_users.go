package web

import (
	"net/http"

	"kavach/auth"
)

// usersPage is the data of the user list and the add-user form.
type usersPage struct {
	*view
	Users   []auth.User
	Roles   []auth.Role
	F       map[string]string
	Err     map[string]string
	Message string
}

// pageUsers lists the users with the form to add one.
func (s *Server) pageUsers(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.renderUsers(w, r, v, http.StatusOK, map[string]string{"role": string(auth.Registration)}, nil, "")
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, v *view, status int, f, errs map[string]string, msg string) error {
	us, err := auth.Users(r.Context(), s.n.DB())
	if err != nil {
		return err
	}
	v.Title = v.T("Users")
	return s.render(w, v, status, "users", &usersPage{view: v, Users: us, Roles: auth.Roles, F: f, Err: errs, Message: msg})
}
