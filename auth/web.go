package auth

import (
	"context"
	"embed"
	"fmt"
	"net/http"

	"kavach/access"
	"kavach/node"
	"kavach/service"
	"kavach/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Service is the staff users: accounts, roles, passwords and logins.
func Service() service.Service {
	return service.Service{
		Name:   "auth",
		Data:   Data(),
		Grants: grants,
		Web: web.Part{
			Routes:    routes,
			Templates: web.Sub(templateFS, "templates"),
			Hindi:     hindi,
			Nav: []web.Nav{
				{Href: "/users", Label: "Users", Key: "u", Desc: "Add and disable staff users", Perm: ManageUsers, Order: 80},
			},
		},
		Demo: demo,
	}
}

// handlers are the users' API and page actions.
type handlers struct {
	a      *Auth
	client func(*http.Request) string // the address a request came from
}

func routes(rt *web.Router) {
	a, ok := rt.Auth().(*Auth)
	if !ok {
		rt.Fail(fmt.Errorf("auth: the server's authenticator is a %T, not this node's users", rt.Auth()))
		return
	}
	h := &handlers{a: a, client: rt.Client}
	rt.API("GET /api/v1/users", ManageUsers, h.apiUsers)
	rt.API("POST /api/v1/users", ManageUsers, h.apiAddUser)
	rt.API("POST /api/v1/users/{username}/disable", ManageUsers, h.apiDisableUser)
	rt.API("POST /api/v1/users/{username}/enable", ManageUsers, h.apiEnableUser)
	rt.API("POST /api/v1/users/{username}/unlock", ManageUsers, h.apiUnlockUser)
	rt.API("POST /api/v1/users/{username}/reset-password", ManageUsers, h.apiResetPassword)
	rt.API("POST /api/v1/password", "", h.apiChangePassword, web.MustChangeOK)
	rt.API("GET /api/v1/replication-tokens", ManageUsers, h.apiTokens)
	rt.API("POST /api/v1/replication-tokens/{id}/revoke", ManageUsers, h.apiTokenRevoke)
	rt.Page("GET /users", ManageUsers, h.pageUsers)
	rt.Page("POST /users", ManageUsers, h.pageUserSave)
	rt.Page("POST /users/{username}/disable", ManageUsers, h.pageUserDisable)
	rt.Page("POST /users/{username}/enable", ManageUsers, h.pageUserEnable)
	rt.Page("POST /users/{username}/unlock", ManageUsers, h.pageUserUnlock)
	rt.Page("POST /users/{username}/reset-password", ManageUsers, h.pageUserReset)
	rt.Page("POST /replication-tokens/{id}/revoke", ManageUsers, h.pageTokenRevoke)
	rt.Page("GET "+web.PasswordPage, "", h.pagePassword, web.MustChangeOK)
	rt.Page("POST "+web.PasswordPage, "", h.pagePasswordSave, web.MustChangeOK)
}

// DemoUsers are the users --demo adds, one per role but admin, named after
// the role.
var DemoUsers = []access.Role{access.Registration, access.Doctor, access.Lab, access.Pathologist, access.Billing, access.Accounts, access.Nurse, access.Auditor, access.Records}

func demo(ctx context.Context, n *node.Node, password string) error {
	a := New(n, nil)
	for _, r := range DemoUsers {
		u := NewUser{Username: string(r), FullName: "Demo " + string(r), Role: r, Password: password}
		if err := a.AddUser(ctx, "system", u); err != nil {
			return fmt.Errorf("demo user %s: %w", r, err)
		}
	}
	return nil
}
