package auth

import (
	"net/http"

	"kavach/access"
	"kavach/web"

	"kavach"
)

// pageUserSave adds a user.
func (h *handlers) pageUserSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{"username": r.PostFormValue("username"), "full_name": r.PostFormValue("full_name"), "role": r.PostFormValue("role")}
	u := NewUser{Username: f["username"], FullName: f["full_name"], Role: access.Role(f["role"]), Password: r.PostFormValue("password")}
	if err := h.a.AddUser(r.Context(), v.User(), u); err != nil {
		errs := web.FieldErrors(v, err)
		if errs == nil {
			return err
		}
		return h.renderUsers(w, r, v, web.Status(kavach.ErrorCode(err)), f, errs, v.T(kavach.ErrorMessage(err)))
	}
	return web.Redirect(w, r, "/users")
}
