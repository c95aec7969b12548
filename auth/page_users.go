package auth

import (
	"net/http"
	"time"

	"kavach/access"
	"kavach/node"
	"kavach/web"
)

// usersPage is the data of the user list and the add-user form.
type usersPage struct {
	*web.View
	Users   []access.User
	Roles   []access.Role
	Tokens  []node.TokenInfo // the node's replication tokens
	Now     time.Time
	F       map[string]string
	Err     map[string]string
	Message string
}

// pageUsers lists the users with the form to add one.
func (h *handlers) pageUsers(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.renderUsers(w, r, v, http.StatusOK, map[string]string{"role": string(access.Registration)}, nil, "")
}

func (h *handlers) renderUsers(w http.ResponseWriter, r *http.Request, v *web.View, status int, f, errs map[string]string, msg string) error {
	us, err := Users(r.Context(), h.a.n.DB())
	if err != nil {
		return err
	}
	ts, err := node.ReplicationTokens(r.Context(), h.a.n.DB())
	if err != nil {
		return err
	}
	v.Title = v.T("Users")
	return v.Render(w, status, "users", &usersPage{View: v, Users: us, Roles: access.Roles, Tokens: ts, Now: h.a.n.Now(),
		F: f, Err: errs, Message: msg})
}
