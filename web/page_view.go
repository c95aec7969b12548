package web

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"kavach"
	"kavach/auth"
)

// Cookies the pages use.
const (
	sessionCookie = "kavach_session" // the login token; HttpOnly
	loginCookie   = "kavach_login"   // random value behind the login form's CSRF field
	langCookie    = "lang"           // en or hi
)

// maxForm bounds a form body: the registration form is a few hundred bytes.
const maxForm = 64 << 10

// csp keeps every page to its own scripts, styles and images: no inline
// script can run even if a name were ever rendered unescaped.
const csp = "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; font-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// view is what every page template gets: who is looking, in which
// language, the CSRF value for its forms and the links of the nav.
type view struct {
	Sess      *auth.Session // nil on the login page
	Lang      string        // "en" or "hi"
	CSRF      string
	Hospital  string
	Title     string
	Path      string // where the language toggle returns to
	Nav       []navLink
	AutoPrint bool // the slip calls window.print() once loaded
}

// navLink is an entry of the nav bar.
type navLink struct {
	Href, Label, Key, Desc string
	Current                bool
}

// nav lists the pages in the order the nav shows them, with the permission
// each needs and its access key (Alt+key in Chromium, Alt+Shift+key in Firefox).
var nav = []struct {
	href, label, key, desc string
	perm                   auth.Permission
}{
	{"/register", "Registration", "r", "Register a new patient and print the OPD slip", auth.RegisterPatient},
	{"/search", "Search", "s", "Find a patient by UHID, mobile, ABHA number or name", auth.ViewPatient},
	{"/queue", "Queue", "q", "Today's OPD queue of a department", auth.SeeQueue},
	{"/users", "Users", "u", "Add and disable staff users", auth.ManageUsers},
	{"/audit", "Audit trail", "a", "Who saw which patient's record", auth.ReadAudit},
	{"/status", "Node status", "", "Journal, checkpoints and the node's key", auth.SeeStatus},
}

// T translates a message into the page's language.
func (v *view) T(msg string) string {
	if v.Lang == "hi" {
		return hindiText(msg)
	}
	return msg
}

// Can reports whether the user may do p; templates use it to hide actions.
func (v *view) Can(p string) bool { return v.Sess != nil && v.Sess.Can(auth.Permission(p)) }

// User is the logged-in username.
func (v *view) User() string {
	if v.Sess == nil {
		return ""
	}
	return v.Sess.User.Username
}

// OtherLang is the language the toggle switches to.
func (v *view) OtherLang() string {
	if v.Lang == "hi" {
		return "en"
	}
	return "hi"
}

func (s *Server) newView(r *http.Request) *view {
	v := &view{Lang: "en", Hospital: s.n.Info().HospitalName, Path: "/"}
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "hi" {
		v.Lang = "hi"
	}
	switch {
	case r.Method == http.MethodGet:
		v.Path = r.URL.RequestURI()
	default:
		// After a POST the toggle goes back to the form's page, never to
		// the POST's own address.
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
			v.Path = localPath(ref.RequestURI())
		}
	}
	return v
}

func (v *view) login(sess *auth.Session, token, path string) {
	v.Sess, v.CSRF = sess, auth.CSRF(token)
	for _, n := range nav {
		if sess.Can(n.perm) {
			v.Nav = append(v.Nav, navLink{Href: n.href, Label: n.label, Key: n.key, Desc: n.desc, Current: strings.HasPrefix(path, n.href)})
		}
	}
}

// pageHandler is a page action for a logged-in user. It returns an error
// only for what it does not show itself; the wrapper renders that as an
// error page.
type pageHandler func(w http.ResponseWriter, r *http.Request, v *view) error

// page wraps a page action: the session cookie (or a redirect to the login
// page), the CSRF check of every POST, the permission check, and the error
// page.
func (s *Server) page(perm auth.Permission, h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.newView(r)
		token := ""
		if c, err := r.Cookie(sessionCookie); err == nil {
			token = c.Value
		}
		sess, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			if kavach.ErrorCode(err) == kavach.EUNAUTHORIZED {
				next := r.URL.RequestURI()
				if r.Method != http.MethodGet {
					next = v.Path
				}
				http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
			s.pageError(w, r, v, err)
			return
		}
		v.login(sess, token, r.URL.Path)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				s.pageError(w, r, v, kavach.Errorf(kavach.EINVALID, "The form could not be read. Please try again."))
				return
			}
			if !sameCSRF(r.PostFormValue("csrf"), token) {
				s.pageError(w, r, v, kavach.Errorf(kavach.EFORBIDDEN, "%s", v.T(errCSRF)))
				return
			}
		}
		if perm != "" && !sess.Can(perm) {
			s.pageError(w, r, v, kavach.Errorf(kavach.EFORBIDDEN, v.T("Your role (%s) may not see this page."), sess.User.Role))
			return
		}
		if err := h(w, r, v); err != nil {
			s.pageError(w, r, v, err)
		}
	}
}

const errCSRF = "This form has expired or did not come from this screen. Go back, reload the page and try again."

// sameCSRF reports whether a form's CSRF field belongs to the token.
func sameCSRF(field, token string) bool {
	if field == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(field), []byte(auth.CSRF(token))) == 1
}

// localPath returns p if it is a path on this server, else "/": a next=
// parameter must never send the clerk to another site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return p
}

// render executes a page template into a buffer, so that a template error
// becomes a clean error page rather than half a page.
func (s *Server) render(w http.ResponseWriter, v *view, status int, name string, data any) error {
	t, err := pageTemplate(v.Lang, name)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("web: page %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

// errorPage is the data of the error template.
type errorPage struct {
	*view
	Status  int
	Message string
	Fields  map[string]string
}

// pageError shows err in the page layout with its status. Internal errors
// are logged and shown as a plain sentence, never in detail.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, v *view, err error) {
	s.logError(r, err)
	code := kavach.ErrorCode(err)
	status := Status(code)
	p := &errorPage{view: v, Status: status, Message: v.T(kavach.ErrorMessage(err))}
	var ke *kavach.Error
	if errors.As(err, &ke) {
		p.Fields = ke.Fields
	}
	switch status {
	case http.StatusForbidden:
		v.Title = v.T("Not allowed")
	case http.StatusNotFound:
		v.Title = v.T("Not found")
	case http.StatusBadRequest, http.StatusConflict:
		v.Title = v.T("Please check")
	default:
		v.Title = v.T("Error")
	}
	if rerr := s.render(w, v, status, "error", p); rerr != nil {
		s.log.Error("error page failed", "path", r.URL.Path, "err", rerr)
		http.Error(w, kavach.ErrorMessage(err), status)
	}
}

// fieldErrors returns err's field errors, translated, or nil if err is not
// a user's mistake about particular fields.
func fieldErrors(v *view, err error) map[string]string {
	var ke *kavach.Error
	if !errors.As(err, &ke) || len(ke.Fields) == 0 || ke.Code == kavach.EINTERNAL {
		return nil
	}
	out := make(map[string]string, len(ke.Fields))
	for k, m := range ke.Fields {
		out[k] = v.T(m)
	}
	return out
}

// redirect answers a successful POST: the browser GETs the result, so a
// reload never submits twice.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
