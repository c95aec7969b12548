package auth

import (
	"net/http"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// pageUserEnable lets a disabled user log in again.
func (h *handlers) pageUserEnable(w http.ResponseWriter, r *http.Request, v *web.View) error {
	if err := h.a.SetDisabled(r.Context(), v.User(), r.PathValue("username"), false); err != nil {
		return err
	}
	return web.Redirect(w, r, "/users")
}

// pageUserUnlock lets a user log in again from every computer after too
// many failed logins.
func (h *handlers) pageUserUnlock(w http.ResponseWriter, r *http.Request, v *web.View) error {
	if err := h.a.Unlock(r.Context(), v.User(), r.PathValue("username")); err != nil {
		return err
	}
	return web.Redirect(w, r, "/users")
}

// pageUserReset sets a user's password; they choose a new one at their
// next login.
func (h *handlers) pageUserReset(w http.ResponseWriter, r *http.Request, v *web.View) error {
	user := r.PathValue("username")
	if err := h.a.ResetPassword(r.Context(), v.User(), user, r.PostFormValue("password")); err != nil {
		errs := web.FieldErrors(v, err)
		if errs == nil {
			return err
		}
		return h.renderUsers(w, r, v, web.Status(kavach.ErrorCode(err)), map[string]string{"reset": user}, errs,
			v.T(kavach.ErrorMessage(err)))
	}
	return web.Redirect(w, r, "/users")
}

// pageTokenRevoke revokes a replication token (one that may have leaked):
// the vault holding it is refused at its next pull.
func (h *handlers) pageTokenRevoke(w http.ResponseWriter, r *http.Request, v *web.View) error {
	if _, err := node.RevokeToken(r.Context(), h.a.n.Dir(), r.PathValue("id")); err != nil {
		return err
	}
	return web.Redirect(w, r, "/users")
}
