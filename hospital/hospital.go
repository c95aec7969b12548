// Package hospital puts a node together with every hospital service: it is
// the one list of services, the first admin, the demo data and the web
// server made of every service's part.
package hospital

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/netip"

	"kavach/access"
	"kavach/audit"
	"kavach/auth"
	"kavach/billing"
	"kavach/journal"
	"kavach/lab"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
	"kavach/service"
	"kavach/web"
)

// List is every hospital service, once, in the order their migrations
// apply and their parts appear: a service comes after every service it
// imports (a test holds it to that), so billing, which the OPD, the lab
// and the wards call to price and post charges and which reads patients
// through registration, comes between them. Adding a service is a line
// here (docs/architecture.md).
func List() []service.Service {
	return []service.Service{
		auth.Service(),
		audit.Service(patientNames),
		registration.Service(),
		billing.Service(),
		opd.Service(),
		lab.Service(),
	}
}

// patientNames is the audit trail's lookup of patients' names, which are
// registration's: the trail comes before registration in List and cannot
// import it.
func patientNames(ctx context.Context, db journal.DBTX, uhids []string) (map[string]string, error) {
	ps, err := registration.GetMany(ctx, db, uhids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ps))
	for u, p := range ps {
		out[u] = p.Name
	}
	return out, nil
}

// Services lists every service's data part: its tables and events.
func Services() []node.Service {
	var out []node.Service
	for _, s := range List() {
		d := s.Data
		d.Name = s.Name
		out = append(out, d)
	}
	return out
}

// Policy gathers who may do what from every service.
func Policy() (*access.Policy, error) {
	gs := [][]access.Grant{web.Grants}
	for _, s := range List() {
		gs = append(gs, s.Grants)
	}
	return access.NewPolicy(gs...)
}

// Hospital is an open node with its services.
type Hospital struct {
	Node   *node.Node
	Auth   *auth.Auth
	Policy *access.Policy
}

// Open opens the node in cfg.Dir with every service.
func Open(ctx context.Context, cfg node.Config) (*Hospital, error) {
	policy, err := Policy()
	if err != nil {
		return nil, err
	}
	cfg.Services = Services()
	n, err := node.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Hospital{Node: n, Auth: auth.New(n, policy), Policy: policy}, nil
}

// Server returns the node's web server with every service's part; proxies
// are the proxies whose X-Forwarded-For and X-Forwarded-Proto it believes.
func (h *Hospital) Server(log *slog.Logger, proxies ...netip.Prefix) (*web.Server, error) {
	var parts []web.Part
	for _, s := range List() {
		p := s.Web
		p.Name = s.Name
		parts = append(parts, p)
	}
	return web.New(web.Config{Node: h.Node, Auth: h.Auth, Policy: h.Policy, Parts: parts, Log: log, TrustedProxies: proxies})
}

// SiteServer is Server for a site node, whose pages show how its link to
// the central is.
func (h *Hospital) SiteServer(log *slog.Logger, link func() node.LinkStatus, proxies ...netip.Prefix) (*web.Server, error) {
	var parts []web.Part
	for _, s := range List() {
		p := s.Web
		p.Name = s.Name
		parts = append(parts, p)
	}
	return web.New(web.Config{Node: h.Node, Auth: h.Auth, Policy: h.Policy, Parts: parts, Log: log, TrustedProxies: proxies, Link: link})
}

// Close closes the node.
func (h *Hospital) Close() error { return h.Node.Close() }

// GeneratePassword returns a random password that is easy to type.
func GeneratePassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HasUsers reports whether any user exists.
func (h *Hospital) HasUsers(ctx context.Context) (bool, error) {
	us, err := auth.Users(ctx, h.Node.DB())
	return len(us) > 0, err
}

// EnsureAdmin adds the admin user on a node that has no users yet.
func (h *Hospital) EnsureAdmin(ctx context.Context, password string) (bool, error) {
	has, err := h.HasUsers(ctx)
	if err != nil || has {
		return false, err
	}
	err = h.Auth.AddUser(ctx, "system", auth.NewUser{Username: "admin", FullName: "Administrator", Role: access.Admin, Password: password})
	return err == nil, err
}

// SeedDemo adds every service's demo data (users one per role with the
// password, departments, the lab catalogue, tariffs). It does nothing on a
// node that already has departments.
func (h *Hospital) SeedDemo(ctx context.Context, password string) error {
	ds, err := opd.Departments(ctx, h.Node.DB())
	if err != nil {
		return err
	}
	if len(ds) > 0 {
		return nil
	}
	for _, s := range List() {
		if s.Demo == nil {
			continue
		}
		if err := s.Demo(ctx, h.Node, password); err != nil {
			return fmt.Errorf("demo %s: %w", s.Name, err)
		}
	}
	return nil
}
