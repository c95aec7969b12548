package web

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"kavach"
	"kavach/access"
	"kavach/node"
)

// PasswordPage is where a user changes their own password (the users
// service's page): the layout links it, and a user whose password was reset
// is sent there.
const PasswordPage = "/password"

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

// View is what every page template gets: who is looking, in which
// language, the CSRF value for its forms and the links of the nav. A page's
// data embeds it.
type View struct {
	Sess      *access.Session // nil on the login page
	Lang      string          // "en" or "hi"
	CSRF      string
	Hospital  string
	Title     string
	Path      string // where the language toggle returns to
	Nav       []navLink
	AutoPrint bool // the slip calls window.print() once loaded
	Focused   bool // a field of the page's own has the focus: panels give none

	s      *Server
	secure bool // the client came over HTTPS: the page asks it to keep to it
	req    *http.Request
}

// Downtime is what a site's pages say while its central does not answer.
type Downtime struct {
	Since   string // the hospital's time, 15:04, or the date too if not today
	Pending uint64 // own changes waiting to be sent
}

// Downtime returns the banner of a site node whose central does not
// answer; nil on a central, and on a site while it does.
func (v *View) Downtime() *Downtime {
	if v.s.link == nil || v.Sess == nil {
		return nil
	}
	st := v.s.link()
	if st.Reachable {
		return nil
	}
	since := st.Since.In(kavach.Zone)
	d := &Downtime{Since: since.Format("15:04"), Pending: st.Pending}
	if kavach.Day(since) != kavach.Day(v.s.n.Now()) {
		d.Since = kavach.ShowTime(since)
	}
	return d
}

// navLink is an entry of the nav bar.
type navLink struct {
	Href, Label, Key, Desc string
	Current                bool
}

// T translates a message into the page's language.
func (v *View) T(msg string) string {
	if v.Lang == "hi" {
		return v.s.ui.hindiText(msg)
	}
	return msg
}

// Can reports whether the user may do p; templates use it to hide actions.
func (v *View) Can(p string) bool { return v.Sess != nil && v.Sess.Can(access.Permission(p)) }

// User is the logged-in username.
func (v *View) User() string {
	if v.Sess == nil {
		return ""
	}
	return v.Sess.User.Username
}

// OtherLang is the language the toggle switches to.
func (v *View) OtherLang() string {
	if v.Lang == "hi" {
		return "en"
	}
	return "hi"
}

// Node is the node the page is on.
func (v *View) Node() *node.Node { return v.s.n }

func (s *Server) newView(r *http.Request) *View {
	v := &View{Lang: "en", Hospital: s.n.Info().HospitalName, Path: "/", s: s, secure: s.secure(r), req: r}
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "hi" {
		v.Lang = "hi"
	}
	switch {
	case r.Method == http.MethodGet:
		v.Path = r.URL.RequestURI()
		if q := r.URL.Query(); q.Has("print") {
			// A slip just printed is shown again, not printed again.
			q.Del("print")
			u := *r.URL
			u.RawQuery = q.Encode()
			v.Path = u.RequestURI()
		}
	default:
		// After a POST the toggle goes back to the form's page, never to
		// the POST's own address.
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
			v.Path = localPath(ref.RequestURI())
		}
	}
	return v
}

func (v *View) login(sess *access.Session, token, path string) {
	v.Sess, v.CSRF = sess, CSRF(token)
	// The current entry is the one whose page the path is, or is under:
	// of /billing and /billing/day-end, the longer that fits.
	current := ""
	for _, n := range v.s.nav {
		p := strings.TrimSuffix(n.Href, "/")
		if (path == p || strings.HasPrefix(path, p+"/") || strings.HasPrefix(path, p+"?")) && len(n.Href) > len(current) {
			current = n.Href
		}
	}
	for _, n := range v.s.nav {
		// An entry shows to whoever may open its page.
		if rt, ok := v.s.route("GET " + n.Href); ok && rt.allows(sess) || !ok && sess.Can(n.Perm) {
			v.Nav = append(v.Nav, navLink{Href: n.Href, Label: n.Label, Key: n.Key, Desc: n.Desc, Current: n.Href == current})
		}
	}
}

// CSRF returns the anti-forgery value for a web session's token: derived from
// the token, so it needs no storage and cannot be used to find the token.
func CSRF(token string) string {
	h := sha256.Sum256([]byte("kavach-csrf:" + token))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// page wraps a page action: the session cookie (or a redirect to the login
// page), the CSRF check of every POST, the permission check, and the error
// page.
func (s *Server) page(rt Route, h PageHandler) http.HandlerFunc {
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
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					s.pageError(w, r, v, kavach.Errorf(kavach.ETOOLARGE, "The form is larger than any form of this page; go back and try again."))
					return
				}
				s.pageError(w, r, v, kavach.Errorf(kavach.EINVALID, "The form could not be read. Please try again."))
				return
			}
			if !sameCSRF(r.PostFormValue("csrf"), token) {
				s.pageError(w, r, v, kavach.Errorf(kavach.EFORBIDDEN, "%s", v.T(errCSRF)))
				return
			}
		}
		if sess.MustChange && !rt.MustChangeOK {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, PasswordPage, http.StatusSeeOther)
				return
			}
			s.pageError(w, r, v, errMustChange())
			return
		}
		if !rt.allows(sess) {
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
	return subtle.ConstantTimeCompare([]byte(field), []byte(CSRF(token))) == 1
}

// Remember keeps a small per-browser preference, such as a counter's last
// department, in a cookie for a year: a counter's PC keeps it across
// logins, and nothing about a patient is ever put there.
func (v *View) Remember(w http.ResponseWriter, name, value string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: v.secure})
}

// Remembered is a preference Remember kept in this browser, or "".
func (v *View) Remembered(name string) string {
	if v.req == nil {
		return ""
	}
	c, err := v.req.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
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

// Render shows a page: the template name (a part's page file) in the
// layout with data, which embeds v. It executes into a buffer, so that a
// template error becomes a clean error page rather than half a page.
func (v *View) Render(w http.ResponseWriter, status int, name string, data any) error {
	t := v.s.ui.pages[v.Lang][name]
	if t == nil {
		return fmt.Errorf("web: no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("web: page %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	if v.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// errorPage is the data of the error template.
type errorPage struct {
	*View
	Status  int
	Message string
	Fields  map[string]string
}

// pageError shows err in the page layout with its status. Internal errors
// are logged and shown as a plain sentence, never in detail.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, v *View, err error) {
	s.logError(r, err)
	code := kavach.ErrorCode(err)
	status := Status(code)
	p := &errorPage{View: v, Status: status, Message: v.T(kavach.ErrorMessage(err))}
	var ke *kavach.Error
	if errors.As(err, &ke) {
		p.Fields = ke.Fields
	}
	switch status {
	case http.StatusForbidden:
		v.Title = v.T("Not allowed")
	case http.StatusNotFound:
		v.Title = v.T("Not found")
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		v.Title = v.T("Please check")
	default:
		v.Title = v.T("Error")
	}
	if rerr := v.Render(w, status, "error", p); rerr != nil {
		s.log.Error("error page failed", "path", r.URL.Path, "err", rerr)
		http.Error(w, kavach.ErrorMessage(err), status)
	}
}

// Redirect answers a successful POST: the browser GETs the result, so a
// reload never submits twice.
func Redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
