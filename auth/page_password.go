package auth

import (
	"net/http"

	"kavach"
	"kavach/web"
)

// passwordPage is the data of the change-password form.
type passwordPage struct {
	*web.View
	Err     map[string]string
	Message string
	Done    bool
}

// pagePassword shows the form to change one's own password; a user whose
// password an administrator reset is sent here and may go nowhere else.
func (h *handlers) pagePassword(w http.ResponseWriter, r *http.Request, v *web.View) error {
	v.Title = v.T("Change password")
	return v.Render(w, http.StatusOK, "password", &passwordPage{View: v, Done: r.URL.Query().Get("done") == "1"})
}

// pagePasswordSave changes the password, given the current one.
func (h *handlers) pagePasswordSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	v.Title = v.T("Change password")
	p := &passwordPage{View: v}
	pw := r.PostFormValue("new_password")
	if pw != r.PostFormValue("repeat_password") {
		p.Err = map[string]string{"repeat_password": v.T("The two new passwords differ")}
		return v.Render(w, http.StatusBadRequest, "password", p)
	}
	if err := h.a.ChangePassword(r.Context(), v.Sess, r.PostFormValue("old_password"), pw, h.client(r)); err != nil {
		if p.Err = web.FieldErrors(v, err); p.Err == nil {
			return err
		}
		p.Message = v.T(kavach.ErrorMessage(err))
		return v.Render(w, web.Status(kavach.ErrorCode(err)), "password", p)
	}
	return web.Redirect(w, r, web.PasswordPage+"?done=1")
}
