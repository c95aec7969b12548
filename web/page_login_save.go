package web

import (
	"net/http"

	"kavach"
)

// pageLoginSave checks the password, starts a web session and sends the
// user on to the page they asked for.
func (s *Server) pageLoginSave(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	v.Title = v.T("Log in")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, v, kavach.Errorf(kavach.EINVALID, "The form could not be read. Please try again."))
		return
	}
	nonce := ""
	if c, err := r.Cookie(loginCookie); err == nil {
		nonce = c.Value
	}
	if !sameCSRF(r.PostFormValue("csrf"), nonce) {
		s.pageError(w, r, v, kavach.Errorf(kavach.EFORBIDDEN, "%s", v.T(errCSRF)))
		return
	}
	v.CSRF = CSRF(nonce)
	p := &loginPage{View: v, Username: r.PostFormValue("username"), Next: localPath(r.PostFormValue("next"))}
	password := r.PostFormValue("password")
	if p.Username == "" || password == "" {
		p.Error = v.T("Type your username and password.")
		if err := v.Render(w, http.StatusBadRequest, "login", p); err != nil {
			s.pageError(w, r, v, err)
		}
		return
	}
	token, _, err := s.auth.Login(r.Context(), p.Username, password, "web", s.client(r))
	if err != nil {
		if kavach.ErrorCode(err) != kavach.EUNAUTHORIZED {
			s.pageError(w, r, v, err)
			return
		}
		p.Error = v.T(kavach.ErrorMessage(err))
		if err := v.Render(w, http.StatusUnauthorized, "login", p); err != nil {
			s.pageError(w, r, v, err)
		}
		return
	}
	// A counter PC is shared between shifts: the previous user's session
	// ends when the next one logs in.
	if c, err := r.Cookie(sessionCookie); err == nil {
		if old, err := s.auth.Authenticate(r.Context(), c.Value); err == nil {
			s.auth.Logout(r.Context(), old)
		}
	}
	s.setSessionCookie(w, r, token)
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	c := &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r)}
	if token == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}
