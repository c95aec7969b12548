package web

import (
	"bytes"
	"context"
	"html/template"
	"io/fs"

	"kavach/access"
)

// Part is a service's part of the web server: its routes, its page
// templates, the Hindi of its labels and messages, its nav entries and the
// panels it adds to other services' pages.
type Part struct {
	Name   string        // the service
	Routes func(*Router) // registers the part's routes
	// Templates holds the part's page templates at its root: a page file
	// (patient.html) defines "content" and is rendered in the layout by its
	// name; partials.html, if there, defines blocks every page may use
	// (form fields, panels).
	Templates fs.FS
	Static    fs.FS             // files served under /static/ (print styles), optional
	Hindi     map[string]string // English label or message → Hindi
	// Funcs adds template functions; t translates into the page's language.
	Funcs  func(lang string, t func(string) string) template.FuncMap
	Nav    []Nav
	Panels []Panel
}

// Nav is an entry of the nav bar and a tile of the home page.
type Nav struct {
	Href, Label, Desc string
	Key               string // access key: Alt+key in Chromium, Alt+Shift+key in Firefox
	Perm              access.Permission
	Order             int // the nav's order, lowest first
}

// Panel is a section a service adds to another service's page: the
// patient's record shows the OPD's visits, and will show the lab's reports
// and the account. Its blocks are in the part's partials.html.
type Panel struct {
	Page string            // the page that shows it, by its template's name: "patient"
	Perm access.Permission // who sees it ("" everyone who sees the page)
	Card string            // a block shown beside the page's main card ("" none)
	Body string            // a block shown below it ("" none)
	// Load gathers the panel's data for the page's subject (a UHID); the
	// blocks get it, so it embeds the View.
	Load func(ctx context.Context, v *View, subject string) (any, error)
}

// ShownPanel is a panel rendered for one page.
type ShownPanel struct {
	Card, Body template.HTML
}

// Panels renders the panels other services add to page for subject, in the
// order of the services, leaving out those the user may not see.
func (v *View) Panels(ctx context.Context, page, subject string) ([]ShownPanel, error) {
	var out []ShownPanel
	for _, p := range v.s.panels {
		if p.Page != page || (p.Perm != "" && !v.Sess.Can(p.Perm)) {
			continue
		}
		data, err := p.Load(ctx, v, subject)
		if err != nil {
			return nil, err
		}
		var sp ShownPanel
		for _, b := range []struct {
			name string
			out  *template.HTML
		}{{p.Card, &sp.Card}, {p.Body, &sp.Body}} {
			if b.name == "" {
				continue
			}
			var buf bytes.Buffer
			if err := v.s.ui.partials[v.Lang].ExecuteTemplate(&buf, b.name, data); err != nil {
				return nil, err
			}
			*b.out = template.HTML(buf.String()) // html/template's own output
		}
		out = append(out, sp)
	}
	return out, nil
}

// SeeStatus is the node's own permission: its status page, the API's status
// and /metrics.
const SeeStatus access.Permission = "node.status"

// Grants are the node's own permissions.
var Grants = []access.Grant{
	{Permission: SeeStatus, What: "See the node's journal, checkpoints, backups and metrics", Roles: []access.Role{access.Admin}},
}

// part is the node's own part: logging in and out, the home and status
// pages, checkpoints and proofs, replication for vaults, health and
// metrics.
func (s *Server) part() Part {
	return Part{
		Name:      "node",
		Templates: mustSub(templateFS, "templates"),
		Static:    mustSub(staticFS, "static"),
		Hindi:     hindi,
		Nav: []Nav{
			{Href: "/status", Label: "Node status", Desc: "Journal, checkpoints and the node's key", Perm: SeeStatus, Order: 100},
		},
		Routes: func(rt *Router) {
			rt.Public("GET /healthz", false, s.healthz)
			rt.API("GET /metrics", SeeStatus, s.metricsText)

			rt.Public("POST /api/v1/login", false, s.apiLogin)
			rt.API("POST /api/v1/logout", "", s.apiLogout, MustChangeOK)
			rt.API("GET /api/v1/checkpoint", "", s.apiCheckpoint)
			rt.API("GET /api/v1/proof/inclusion", "", s.apiInclusionProof)
			rt.API("GET /api/v1/proof/consistency", "", s.apiConsistencyProof)
			rt.API("GET /api/v1/status", "", s.apiStatus)

			rt.add(Route{Pattern: "GET /api/v1/replicate/events", Access: Replicate}, s.replicator(s.apiReplicateEvents))
			rt.add(Route{Pattern: "POST /api/v1/replicate/cosignature", Access: Replicate}, s.replicator(s.apiReplicateCosignature))
			rt.add(Route{Pattern: "GET /api/v1/replicate/origins", Access: Replicate}, s.replicator(s.apiReplicateOrigins))
			rt.Public("POST /api/v1/sites/enroll", false, s.apiEnrol)
			rt.add(Route{Pattern: "GET /api/v1/replicate/feed", Access: Site}, s.site(s.apiFeed))
			rt.add(Route{Pattern: "POST /api/v1/replicate/push", Access: Site}, s.site(s.apiPush))

			rt.Public("GET /static/{path...}", true, s.pageStatic)
			rt.Public("GET /lang/{lang}", true, s.pageLang)
			rt.Public("GET /login", true, s.pageLogin)
			rt.Public("POST /login", true, s.pageLoginSave)
			rt.Page("POST /logout", "", s.pageLogout, MustChangeOK)
			rt.Page("GET /{$}", "", s.pageHome)
			rt.Page("GET /status", SeeStatus, s.pageStatus)
		},
	}
}

// mustSub is fs.Sub of an embedded directory, which cannot fail.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Sub is fs.Sub for a service's embedded templates or static files.
func Sub(fsys fs.FS, dir string) fs.FS { return mustSub(fsys, dir) }
