package auth

import (
	"net/http"

	"kavach/access"
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
