package web

import "net/http"

// pageLang stores the language choice in a cookie and goes back to the page
// the toggle was on.
func (s *Server) pageLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if lang != "hi" {
		lang = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 400 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)})
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}
