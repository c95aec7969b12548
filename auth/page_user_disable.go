package auth

import (
	"net/http"

	"kavach/web"
)

// pageUserDisable disables a user and ends their sessions.
func (h *handlers) pageUserDisable(w http.ResponseWriter, r *http.Request, v *web.View) error {
	if err := h.a.SetDisabled(r.Context(), v.User(), r.PathValue("username"), true); err != nil {
		return err
	}
	return web.Redirect(w, r, "/users")
}
