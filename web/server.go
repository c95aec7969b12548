// Package web is the HTTP face of a Kavach node: the JSON API under
// /api/v1 and the counter's pages, server-rendered in English and Hindi.
//
// The package is the kit every service's web part is built with: a Router
// that registers a route with its permission (the session, CSRF and
// permission checks run before any action), the page layout and its
// templates, the Hindi of every label, the nav, the errors. Each service
// package holds its own routes, page actions (one file each, reading top to
// bottom: parse, validate, store, answer), templates and strings; the node's
// own pages (login, home, status, checkpoints, replication for vaults) are
// here. The list of every route comes from the router itself (Routes).
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kavach"

	"kavach/access"
	"kavach/node"
)

// Authenticator is who a request is: the users service's logins and
// sessions.
type Authenticator interface {
	Login(ctx context.Context, username, password, kind, remote string) (string, *access.Session, error)
	Authenticate(ctx context.Context, token string) (*access.Session, error)
	Logout(ctx context.Context, s *access.Session) error
}

// Config is what a server is made of.
type Config struct {
	Node   *node.Node
	Auth   Authenticator
	Policy *access.Policy
	Parts  []Part // every service's web part, in the order of the services
	Log    *slog.Logger
	// TrustedProxies are the proxies (the TLS terminator in front of the
	// node) whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	// Link, on a site node, says how its link to the central is.
	Link func() node.LinkStatus
}

// Server is the HTTP face of a hospital node.
type Server struct {
	n        *node.Node
	proxies  []netip.Prefix
	auth     Authenticator
	policy   *access.Policy
	log      *slog.Logger
	registry *prometheus.Registry
	latency  *prometheus.HistogramVec // by route
	mux      *http.ServeMux
	started  time.Time
	routes   []Route
	nav      []Nav
	panels   []Panel
	ui       *ui

	closing   chan struct{} // closed when the server starts shutting down
	closeOnce sync.Once

	sites siteTracker // what the central knows of its sites from their requests
	link  func() node.LinkStatus
}

// BeginShutdown ends long polls at once, with their normal (empty) answer,
// so that a shutdown does not wait for them. Register it with
// http.Server.RegisterOnShutdown.
func (s *Server) BeginShutdown() { s.closeOnce.Do(func() { close(s.closing) }) }

// New returns a server with the node's own routes and every part's.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{n: cfg.Node, proxies: cfg.TrustedProxies, auth: cfg.Auth, policy: cfg.Policy, log: cfg.Log,
		mux: http.NewServeMux(), started: time.Now(), closing: make(chan struct{}), link: cfg.Link}
	s.newMetrics()
	parts := append([]Part{s.part()}, cfg.Parts...)
	var err error
	if s.ui, err = newUI(parts); err != nil {
		return nil, err
	}
	// Alt+L is the language toggle's (layout.html); a nav key is one entry's.
	keys := map[string]string{"l": "the language toggle"}
	for _, p := range parts {
		rt := &Router{s: s, part: p.Name}
		if p.Routes != nil {
			p.Routes(rt)
		}
		if rt.err != nil {
			return nil, rt.err
		}
		for _, n := range p.Nav {
			if !s.policy.Declared(n.Perm) {
				return nil, fmt.Errorf("web: %s: nav entry %s needs permission %q, which no service declares", p.Name, n.Href, n.Perm)
			}
			if other, ok := keys[n.Key]; ok && n.Key != "" {
				return nil, fmt.Errorf("web: %s: nav entry %s takes access key %q, which %s has", p.Name, n.Href, n.Key, other)
			}
			keys[n.Key] = "nav entry " + n.Href
			s.nav = append(s.nav, n)
		}
		s.panels = append(s.panels, p.Panels...)
	}
	sort.SliceStable(s.nav, func(i, j int) bool { return s.nav[i].Order < s.nav[j].Order })
	return s, nil
}

// Node is the node the server serves.
func (s *Server) Node() *node.Node { return s.n }

// ServeHTTP serves a request. An API client gets the JSON error shape even
// for a path or method the API does not have, not the mux's plain text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if _, pattern := s.mux.Handler(r); pattern == "" {
			if allow := s.allowed(r); len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				apiError(s, w, r, kavach.Errorf(kavach.EMETHOD, "%s is not a method of this endpoint: use %s.", r.Method, strings.Join(allow, " or ")))
				return
			}
			apiError(s, w, r, kavach.Errorf(kavach.ENOTFOUND, "No such API endpoint."))
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// allowed lists the methods the request's path has routes for.
func (s *Server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

// Access says who may call a route.
type Access string

// The kinds of route.
const (
	Public    Access = "public"    // anyone (login, health, static files)
	User      Access = "user"      // a logged-in user, API (bearer token) or page (session cookie)
	Replicate Access = "replicate" // a vault's replication token
	Site      Access = "site"      // a site node's sync credential
)

// Route is one route as the router registered it.
type Route struct {
	Pattern    string // "POST /api/v1/patients"
	Part       string // the service whose route it is ("node" for the node's own)
	Page       bool   // a page (session cookie, CSRF) rather than the API
	Access     Access
	Permission access.Permission // for Access User; "" is any logged-in user
	// Also are further permissions the route needs, for an action that does
	// two services' work (the counter's form registers and opens a visit).
	Also []access.Permission
	// MustChangeOK: a user whose password an administrator reset may call
	// it before choosing a new one (changing it, logging out); every other
	// route refuses them until they have.
	MustChangeOK bool
}

// RouteOption changes how a route is registered.
type RouteOption func(*Route)

// MustChangeOK lets a user whose password must be changed call the route.
func MustChangeOK(r *Route) { r.MustChangeOK = true }

// AlsoNeeds makes a route need a further permission.
func AlsoNeeds(p access.Permission) RouteOption {
	return func(r *Route) { r.Also = append(r.Also, p) }
}

// Permissions are every permission the route needs.
func (r Route) Permissions() []access.Permission {
	if r.Permission == "" {
		return r.Also
	}
	return append([]access.Permission{r.Permission}, r.Also...)
}

// allows reports whether a session holds every permission the route needs.
func (r Route) allows(sess *access.Session) bool {
	for _, p := range r.Permissions() {
		if !sess.Can(p) {
			return false
		}
	}
	return true
}

// Method and Path split the pattern.
func (r Route) Method() string { m, _, _ := strings.Cut(r.Pattern, " "); return m }

// Path is the pattern's path, with its {wildcards}.
func (r Route) Path() string { _, p, _ := strings.Cut(r.Pattern, " "); return p }

// route returns the route registered with pattern.
func (s *Server) route(pattern string) (Route, bool) {
	for _, r := range s.routes {
		if r.Pattern == pattern {
			return r, true
		}
	}
	return Route{}, false
}

// Routes lists every route, in the order they were registered.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Router registers a part's routes.
type Router struct {
	s    *Server
	part string
	err  error
}

// Node is the node the routes serve.
func (rt *Router) Node() *node.Node { return rt.s.n }

// Client is the address a request came from, as a trusted proxy names it:
// what a part keys a back-off on.
func (rt *Router) Client(r *http.Request) string { return rt.s.client(r) }

// Auth is the node's authenticator.
func (rt *Router) Auth() Authenticator { return rt.s.auth }

// APIHandler is an API action for a logged-in user.
type APIHandler func(w http.ResponseWriter, r *http.Request, sess *access.Session) error

// PageHandler is a page action for a logged-in user. It returns an error
// only for what it does not show itself; the wrapper renders that as an
// error page.
type PageHandler func(w http.ResponseWriter, r *http.Request, v *View) error

func (rt *Router) add(r Route, h http.HandlerFunc) {
	for _, p := range r.Permissions() {
		if !rt.s.policy.Declared(p) {
			rt.err = errors.Join(rt.err, fmt.Errorf("web: %s: route %s needs permission %q, which no service declares", rt.part, r.Pattern, p))
			return
		}
	}
	r.Part = rt.part
	rt.s.routes = append(rt.s.routes, r)
	rt.s.handle(r.Pattern, h)
}

// API registers an API route that needs a user holding perm ("" for any
// logged-in user), authenticated by a bearer token.
func (rt *Router) API(pattern string, perm access.Permission, h APIHandler, opts ...RouteOption) {
	r := Route{Pattern: pattern, Access: User, Permission: perm}
	for _, o := range opts {
		o(&r)
	}
	rt.add(r, rt.s.api(r, h))
}

// Page registers a page route that needs a user holding perm ("" for any
// logged-in user), authenticated by the session cookie; a POST must carry
// the form's CSRF value.
func (rt *Router) Page(pattern string, perm access.Permission, h PageHandler, opts ...RouteOption) {
	r := Route{Pattern: pattern, Page: true, Access: User, Permission: perm}
	for _, o := range opts {
		o(&r)
	}
	rt.add(r, rt.s.page(r, h))
}

// Public registers a route anyone may call.
func (rt *Router) Public(pattern string, page bool, h http.HandlerFunc) {
	rt.add(Route{Pattern: pattern, Page: page, Access: Public}, h)
}

// PublicAPI registers an API route anyone may call, without a token; what
// h returns as an error is answered as the API's errors are.
func (rt *Router) PublicAPI(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	s := rt.s
	rt.add(Route{Pattern: pattern, Access: Public}, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			apiError(s, w, r, err)
		}
	})
}

// PublicPage registers a page anyone may open, without logging in (the
// lab report's verification page, at its QR code's address): h gets a View
// with no session, and what it returns as an error is shown as an error
// page.
func (rt *Router) PublicPage(pattern string, h PageHandler) {
	s := rt.s
	rt.add(Route{Pattern: pattern, Page: true, Access: Public}, func(w http.ResponseWriter, r *http.Request) {
		v := s.newView(r)
		if err := h(w, r, v); err != nil {
			s.pageError(w, r, v, err)
		}
	})
}

// BaseURL is the node's address as the request reached it: the scheme
// (https behind TLS, or when a trusted proxy says so) and the host. A
// printed document's links (the lab report's QR code) are made from it.
func (rt *Router) BaseURL(r *http.Request) string {
	scheme := "http"
	if rt.s.secure(r) {
		scheme = "https"
	}
	host := r.Host
	if a, ok := peer(r); ok && rt.s.trusted(a) {
		if h := strings.TrimSpace(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme + "://" + host
}

// statusWriter remembers the status for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// handle registers a route with latency metrics and security headers.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	latency := s.latency.WithLabelValues(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Cache-Control", "no-store")
		h(sw, r)
		latency.Observe(time.Since(start).Seconds())
	})
}

// errMustChange refuses a user who must choose a new password first.
func errMustChange() error {
	return kavach.Errorf(kavach.EFORBIDDEN, "An administrator reset your password: choose a new one first (POST /api/v1/password, or the Change password page).")
}

// api wraps an API action: bearer authentication, the permission check and
// the mapping of errors to JSON.
func (s *Server) api(rt Route, h APIHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		sess, err := s.auth.Authenticate(r.Context(), tok)
		if err != nil && strings.HasPrefix(tok, node.ReplicationTokenPrefix) {
			err = kavach.Errorf(kavach.EUNAUTHORIZED, "This is a replication token: it lets a vault read the journal (/api/v1/replicate/…) and nothing else. Log in as a user (POST /api/v1/login) for this.")
		}
		if err == nil && sess.MustChange && !rt.MustChangeOK {
			err = errMustChange()
		}
		if err == nil && !rt.allows(sess) {
			err = kavach.Errorf(kavach.EFORBIDDEN, "Your role (%s) may not do this.", sess.User.Role)
		}
		if err == nil {
			err = h(w, r, sess)
		}
		if err != nil {
			apiError(s, w, r, err)
		}
	}
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Status maps an error code to its HTTP status.
func Status(code string) int {
	switch code {
	case kavach.EINVALID:
		return http.StatusBadRequest
	case kavach.ENOTFOUND:
		return http.StatusNotFound
	case kavach.ECONFLICT:
		return http.StatusConflict
	case kavach.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case kavach.EFORBIDDEN:
		return http.StatusForbidden
	case kavach.EMETHOD:
		return http.StatusMethodNotAllowed
	case kavach.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// logError logs internal errors only: the others are the user's to fix.
func (s *Server) logError(r *http.Request, err error) {
	if kavach.ErrorCode(err) == kavach.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

func apiError(s *Server, w http.ResponseWriter, r *http.Request, err error) {
	s.logError(r, err)
	code := kavach.ErrorCode(err)
	body := map[string]any{"code": code, "message": kavach.ErrorMessage(err)}
	var ke *kavach.Error
	if errors.As(err, &ke) && len(ke.Fields) > 0 {
		body["fields"] = ke.Fields
	}
	if code == kavach.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kavach"`)
	}
	WriteJSON(w, Status(code), map[string]any{"error": body})
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Write runs fn as one write by the session's user (synced before it
// returns, like every node.Do) and answers status with what fn gives, as
// JSON. An error from fn answers instead, and nothing is written.
func Write[T any](w http.ResponseWriter, r *http.Request, n *node.Node, sess *access.Session, status int, fn func(tx *node.Tx) (T, error)) error {
	var out T
	err := n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	return WriteJSON(w, status, out)
}

// maxBody bounds a JSON request: no registration needs more.
const maxBody = 64 << 10

// jsonKind names what a JSON value of Go type t is, as a client sees it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text (a JSON string)"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// Decode reads a JSON body into v (whatever the Content-Type says: curl -d
// sends form encoding by default), rejecting unknown fields so that a typo in
// a field name is an error rather than a silently missing value, a key given
// twice or in another case (strictKeys), and a body over maxBody (413).
func Decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return kavach.Errorf(kavach.ETOOLARGE, "The request body is larger than %d KB, more than any request needs.", maxBody>>10)
		}
		return kavach.Errorf(kavach.EINVALID, "The request body could not be read.")
	}
	if err := strictKeys(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Field " + te.Field + " has the wrong type.", Fields: map[string]string{te.Field: "must be " + jsonKind(te.Type)}}
		}
		if te != nil {
			// Not "cannot unmarshal array into Go value of type registration.NewPatient".
			return &kavach.Error{Code: kavach.EINVALID, Message: "The request body must be a JSON object."}
		}
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return &kavach.Error{Code: kavach.EINVALID, Message: "Unknown field " + f + ".", Fields: map[string]string{f: "unknown field"}}
		}
		return &kavach.Error{Code: kavach.EINVALID, Message: "The request body is not valid JSON: " + msg}
	}
	// A second object after the first would otherwise be dropped unread.
	if _, err := d.Token(); err != io.EOF {
		return &kavach.Error{Code: kavach.EINVALID, Message: "The request body must be one JSON object and nothing after it."}
	}
	return nil
}

// Fail records that a part could not register its routes; New returns the
// error.
func (rt *Router) Fail(err error) { rt.err = errors.Join(rt.err, err) }
