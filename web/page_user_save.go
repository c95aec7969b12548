package web

import (
	"net/http"

	"kavach"
	"kavach/auth"
)

// pageUserSave adds a user.
func (s *Server) pageUserSave(w http.ResponseWriter, r *http.Request, v *view) error {
	f := map[string]string{"username": r.PostFormValue("username"), "full_name": r.PostFormValue("full_name"), "role": r.PostFormValue("role")}
	u := auth.NewUser{Username: f["username"], FullName: f["full_name"], Role: auth.Role(f["role"]), Password: r.PostFormValue("password")}
	if err := s.auth.AddUser(r.Context(), v.User(), u); err != nil {
		errs := fieldErrors(v, err)
		if errs == nil {
			return err
		}
		return s.renderUsers(w, r, v, Status(kavach.ErrorCode(err)), f, errs, v.T(kavach.ErrorMessage(err)))
	}
	return redirect(w, r, "/users")
}
