package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// loginPage is the data of the login form.
type loginPage struct {
	*View
	Username, Next string
	Error          string
}

// pageLogin shows the login form. Its CSRF field is tied to a random cookie
// set here, since there is no session yet to tie it to.
func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	v.Title = v.T("Log in")
	v.CSRF = CSRF(s.loginNonce(w, r))
	p := &loginPage{View: v, Next: localPath(r.URL.Query().Get("next"))}
	if err := v.Render(w, http.StatusOK, "login", p); err != nil {
		s.pageError(w, r, v, err)
	}
}

// loginNonce returns the login cookie's value, setting a new one if the
// browser has none.
func (s *Server) loginNonce(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 24)
	rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: nonce, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r)})
	return nonce
}
