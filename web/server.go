// Package web serves Kavach's JSON API and its pages. routes.go lists every
// route; each API action and page action has its own file that reads top to
// bottom: authenticate, parse, validate, store, answer.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"kavach"
	"kavach/auth"
	"kavach/hospital"
	"kavach/metrics"
	"kavach/node"
)

// Server is the HTTP face of a hospital node.
type Server struct {
	h       *hospital.Hospital
	n       *node.Node
	auth    *auth.Auth
	log     *slog.Logger
	metrics *metrics.Registry
	mux     *http.ServeMux
	started time.Time

	closing   chan struct{} // closed when the server starts shutting down
	closeOnce sync.Once
}

// BeginShutdown ends long polls at once, with their normal (empty) answer,
// so that a shutdown does not wait for them. Register it with
// http.Server.RegisterOnShutdown.
func (s *Server) BeginShutdown() { s.closeOnce.Do(func() { close(s.closing) }) }

// New returns a server for the hospital.
func New(h *hospital.Hospital, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{h: h, n: h.Node, auth: h.Auth, log: log, metrics: metrics.New(), mux: http.NewServeMux(), started: time.Now(), closing: make(chan struct{})}
	s.registerGauges()
	s.routes()
	return s
}

// ServeHTTP serves a request. An API client gets the JSON error shape even
// for a path or method the API does not have, not the mux's plain text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if _, pattern := s.mux.Handler(r); pattern == "" {
			s.apiError(w, r, kavach.Errorf(kavach.ENOTFOUND, "No such API endpoint."))
			return
		}
	}
	s.mux.ServeHTTP(w, r)
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
	labels := metrics.Labels("route", pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Cache-Control", "no-store")
		h(sw, r)
		s.metrics.Observe("kavach_http_request_duration_seconds", "Latency of HTTP requests by route.", labels, time.Since(start))
	})
}

// apiHandler is an API action for a logged-in user.
type apiHandler func(w http.ResponseWriter, r *http.Request, sess *auth.Session) error

// api wraps an API action: bearer authentication, the permission check and
// the mapping of errors to JSON.
func (s *Server) api(perm auth.Permission, h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		sess, err := s.auth.Authenticate(r.Context(), tok)
		if err != nil && strings.HasPrefix(tok, node.ReplicationTokenPrefix) {
			err = kavach.Errorf(kavach.EUNAUTHORIZED, "This is a replication token: it lets a vault read the journal (/api/v1/replicate/…) and nothing else. Log in as a user (POST /api/v1/login) for this.")
		}
		if err == nil && perm != "" && !sess.Can(perm) {
			err = kavach.Errorf(kavach.EFORBIDDEN, "Your role (%s) may not do this.", sess.User.Role)
		}
		if err == nil {
			err = h(w, r, sess)
		}
		if err != nil {
			s.apiError(w, r, err)
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
	}
	return http.StatusInternalServerError
}

// logError logs internal errors only: the others are the user's to fix.
func (s *Server) logError(r *http.Request, err error) {
	if kavach.ErrorCode(err) == kavach.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

func (s *Server) apiError(w http.ResponseWriter, r *http.Request, err error) {
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
	writeJSON(w, Status(code), map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
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

// decode reads a JSON body into v (whatever the Content-Type says: curl -d
// sends form encoding by default), rejecting unknown fields so that a typo in
// a field name is an error rather than a silently missing value.
func decode(r *http.Request, v any) error {
	d := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
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
