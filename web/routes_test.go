package web_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kavach/access"
	"kavach/web"
)

var update = flag.Bool("update", false, "rewrite testdata/routes.txt and docs/permissions.md from the router")

// golden compares got with the file at path, or writes it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./web -run TestRoutesGolden -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s is not what the router has: run go test ./web -run TestRoutesGolden -update and read the diff\n--- got\n%s", path, got)
	}
}

// TestRoutesGolden prints every route from the router itself, and the
// docs' table of who may do what from the services' grants; both files are
// checked in, so a change to either shows in review.
func TestRoutesGolden(t *testing.T) {
	s := newSite(t)
	var b strings.Builder
	for _, r := range s.ws.Routes() {
		kind := "api"
		if r.Page {
			kind = "page"
		}
		var perms []string
		for _, p := range r.Permissions() {
			perms = append(perms, string(p))
		}
		perm := strings.Join(perms, " + ")
		if r.Access == web.User && perm == "" {
			perm = "(any user)"
		}
		b.WriteString(strings.TrimRight(fmt.Sprintf("%-48s %-5s %-10s %-13s %s", r.Pattern, kind, r.Access, r.Part, perm), " ") + "\n")
	}
	golden(t, filepath.Join("testdata", "routes.txt"), b.String())
	golden(t, filepath.Join("..", "docs", "permissions.md"), permissionsDoc(s.h.Policy, s.ws.Routes()))
}

// permissionsDoc is docs/permissions.md: the roles × permissions table and
// the routes each permission opens, for auditors.
func permissionsDoc(p *access.Policy, routes []web.Route) string {
	var b strings.Builder
	b.WriteString("# Who may do what\n\n")
	b.WriteString("Generated from the services' own declarations (each service package's grants, and the\n")
	b.WriteString("routes as the web server registered them) by `go test ./web -run TestRoutesGolden -update`;\n")
	b.WriteString("the test fails when this file is out of date. A role holds exactly the permissions marked.\n\n")
	b.WriteString("## Roles and permissions\n\n| permission | what it allows |")
	for _, r := range access.Roles {
		fmt.Fprintf(&b, " %s |", r)
	}
	b.WriteString("\n| --- | --- |")
	for range access.Roles {
		b.WriteString(" :-: |")
	}
	b.WriteString("\n")
	for _, g := range p.Grants() {
		fmt.Fprintf(&b, "| `%s` | %s |", g.Permission, g.What)
		for _, r := range access.Roles {
			if p.Allows(r, g.Permission) {
				b.WriteString(" ✓ |")
			} else {
				b.WriteString("  |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\nEvery logged-in user, whatever the role, may also log out, read the departments, the\n")
	b.WriteString("latest signed checkpoint and the Merkle proofs. A vault's replication token reads the\n")
	b.WriteString("journal (`/api/v1/replicate/…`) and posts a registered vault's cosignature, nothing else; a\n")
	b.WriteString("site node's sync credential, which it gets when it enrols, pulls the other nodes' journals\n")
	b.WriteString("and pushes its own.\n\n")
	b.WriteString("## Routes\n\n| route | service | who |\n| --- | --- | --- |\n")
	for _, r := range routes {
		who := string(r.Access)
		switch {
		case r.Access == web.User && len(r.Permissions()) > 0:
			var ps []string
			for _, p := range r.Permissions() {
				ps = append(ps, "`"+string(p)+"`")
			}
			who = strings.Join(ps, " and ")
		case r.Access == web.User:
			who = "any logged-in user"
		case r.Access == web.Replicate:
			who = "a replication token"
		case r.Access == web.Site:
			who = "a site node's sync credential"
		case r.Access == web.Public:
			who = "anyone"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Pattern, r.Part, who)
	}
	return b.String()
}

// samplePath fills a route's wildcards with values of the right shape.
func samplePath(path string) string {
	return strings.NewReplacer("{uhid}", "KA00000019", "{id}", "KAV000000019", "{dept}", "MED",
		"{username}", "nobody", "{file}", "KA00000019.png", "{path...}", "kavach.css", "{lang}", "en",
		"{$}", "").Replace(path)
}

// TestRouteAccess walks every route the router has: without a login each
// is refused (the API with 401, a page by sending the browser to log in),
// a role without the route's permission gets 403 and changes nothing, and
// a role with it is let through.
func TestRouteAccess(t *testing.T) {
	s := newSite(t)
	users := append([]access.Role{access.Admin}, access.Roles[1:]...)
	tokens := map[access.Role]string{}
	browsers := map[access.Role]*browser{}
	for _, r := range users {
		pw := testDemoPW
		if r == access.Admin {
			pw = testAdminPW
		}
		body, _ := json.Marshal(map[string]string{"username": string(r), "password": pw})
		resp, err := http.Post(s.srv.URL+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if out.Token == "" {
			t.Fatalf("login %s: %d", r, resp.StatusCode)
		}
		tokens[r] = out.Token
		browsers[r] = s.loggedIn(t, string(r))
	}
	api := func(method, path, token string) int {
		req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(`{}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	page := func(b *browser, method, path string) page {
		if method == "POST" {
			return b.post(path, url.Values{})
		}
		return b.get(path)
	}
	events := func() uint64 { return s.h.Node.Status().Events }
	for _, rt := range s.ws.Routes() {
		path := samplePath(rt.Path())
		method := rt.Method()
		t.Run(rt.Pattern, func(t *testing.T) {
			switch rt.Access {
			case web.Public:
				return
			case web.Site:
				for _, tok := range []string{"", "kvs_forged", "kvr_forged", tokens[access.Admin]} {
					if got := api(method, path, tok); got != http.StatusUnauthorized {
						t.Errorf("with token %q: status %d, want 401", tok, got)
					}
				}
				return
			case web.Replicate:
				for _, tok := range []string{"", "kvr_forged", tokens[access.Admin]} {
					if got := api(method, path, tok); got != http.StatusUnauthorized {
						t.Errorf("with token %q: status %d, want 401", tok, got)
					}
				}
				return
			}
			before := events()
			if rt.Page {
				p := page(s.browser(t), method, path)
				if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
					t.Errorf("not logged in: status %d, location %q", p.status, p.location)
				}
			} else {
				for _, tok := range []string{"", "not-a-token"} {
					if got := api(method, path, tok); got != http.StatusUnauthorized {
						t.Errorf("token %q: status %d, want 401", tok, got)
					}
				}
			}
			if after := events(); after != before {
				t.Errorf("refused requests changed the journal: %d → %d events", before, after)
			}
			if strings.HasSuffix(rt.Pattern, "/logout") {
				return // a logged-in try would end the session the other cases use
			}
			for _, r := range users {
				allowed := true
				for _, p := range rt.Permissions() {
					allowed = allowed && s.h.Policy.Allows(r, p)
				}
				var status int
				before := events()
				if rt.Page {
					status = page(browsers[r], method, path).status
				} else {
					status = api(method, path, tokens[r])
				}
				switch {
				case !allowed && status != http.StatusForbidden:
					t.Errorf("%s, without %v: status %d, want 403", r, rt.Permissions(), status)
				case !allowed && events() != before:
					t.Errorf("%s: a forbidden request changed the journal", r)
				case allowed && (status == http.StatusForbidden || status == http.StatusUnauthorized):
					t.Errorf("%s, holding %v: status %d", r, rt.Permissions(), status)
				}
			}
		})
	}
}

// TestAPIDocCoversRoutes: docs/api.md names every API route the router
// has (method and path, a {name} matching any), so the reference cannot
// fall behind the code.
func TestAPIDocCoversRoutes(t *testing.T) {
	s := newSite(t)
	doc, err := os.ReadFile(filepath.Join("..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	wild := regexp.MustCompile(`\{[a-z_]+\}`)
	norm := wild.ReplaceAllString(string(doc), "{}")
	for _, r := range s.ws.Routes() {
		if r.Page || !strings.HasPrefix(r.Path(), "/api/") {
			continue
		}
		want := r.Method() + " " + wild.ReplaceAllString(r.Path(), "{}")
		found := false
		for i := strings.Index(norm, want); i >= 0 && !found; {
			end := i + len(want)
			found = end == len(norm) || strings.ContainsRune("`?, .", rune(norm[end]))
			next := strings.Index(norm[end:], want)
			if next < 0 {
				break
			}
			i = end + next
		}
		if !found {
			t.Errorf("docs/api.md does not name %s", want)
		}
	}
}
