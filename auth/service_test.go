package auth_test

import (
	"context"
	"testing"

	"kavach/access"
	"kavach/auth"
	"kavach/internal/servicetest"
)

// TestService runs the users through the suite every service runs: a user
// added, their password reset by an administrator, disabled, enabled and
// unlocked again, logged in, their password changed by themselves, logged
// out.
func TestService(t *testing.T) {
	servicetest.Run(t, "auth", func(t *testing.T, n *servicetest.Node) {
		ctx := context.Background()
		a := n.Auth
		steps := []func() error{
			func() error {
				return a.AddUser(ctx, "admin", auth.NewUser{Username: "clerk2", FullName: "Second Clerk " + n.Variant,
					Role: access.Registration, Password: "clerk-password-" + n.Variant})
			},
			func() error { return a.ResetPassword(ctx, "admin", "clerk2", "another-password-"+n.Variant) },
			func() error { return a.SetDisabled(ctx, "admin", "clerk2", true) },
			func() error { return a.SetDisabled(ctx, "admin", "clerk2", false) },
			func() error { return a.Unlock(ctx, "admin", "clerk2") },
			func() error {
				_, s, err := a.Login(ctx, "clerk2", "another-password-"+n.Variant, "api", "127.0.0.1")
				if err != nil {
					return err
				}
				if err := a.ChangePassword(ctx, s, "another-password-"+n.Variant, "a-third-password-"+n.Variant, "192.0.2.1"); err != nil {
					return err
				}
				return a.Logout(ctx, s)
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
