package auth

import (
	"net/http"

	"kavach/access"
	"kavach/node"
	"kavach/web"
)

func (h *handlers) apiUsers(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	us, err := Users(r.Context(), h.a.n.DB())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"users": us})
}

func (h *handlers) apiAddUser(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Username string      `json:"username"`
		FullName string      `json:"full_name"`
		Role     access.Role `json:"role"`
		Password string      `json:"password"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	u := NewUser{Username: in.Username, FullName: in.FullName, Role: in.Role, Password: in.Password}
	if err := h.a.AddUser(r.Context(), sess.User.Username, u); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusCreated, map[string]any{"username": u.Username, "role": u.Role})
}

func (h *handlers) apiDisableUser(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	if err := h.a.SetDisabled(r.Context(), sess.User.Username, r.PathValue("username"), true); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"username": r.PathValue("username"), "disabled": true})
}

func (h *handlers) apiEnableUser(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	if err := h.a.SetDisabled(r.Context(), sess.User.Username, r.PathValue("username"), false); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"username": r.PathValue("username"), "disabled": false})
}

// apiUnlockUser lets a user log in again from every computer after too many
// failed logins.
func (h *handlers) apiUnlockUser(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	if err := h.a.Unlock(r.Context(), sess.User.Username, r.PathValue("username")); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"username": r.PathValue("username"), "unlocked": true})
}

// apiResetPassword sets a user's password: they must choose a new one at
// their next login.
func (h *handlers) apiResetPassword(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	if err := h.a.ResetPassword(r.Context(), sess.User.Username, r.PathValue("username"), in.Password); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"username": r.PathValue("username"), "must_change_password": true})
}

// apiChangePassword sets the caller's own password, given the current one.
func (h *handlers) apiChangePassword(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Old string `json:"old_password"`
		New string `json:"new_password"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	if err := h.a.ChangePassword(r.Context(), sess, in.Old, in.New, h.client(r)); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"username": sess.User.Username, "must_change_password": false})
}

func (h *handlers) apiTokens(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	ts, err := node.ReplicationTokens(r.Context(), h.a.n.DB())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (h *handlers) apiTokenRevoke(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	t, err := node.RevokeToken(r.Context(), h.a.n.Dir(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"revoked": t})
}
