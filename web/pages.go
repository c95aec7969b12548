package web

import "kavach/auth"

// pageRoutes registers the counter's pages. Each page action has its own
// page_*.go file; s.page checks the session, the CSRF field of every POST
// and the role's permission before the action runs.
func (s *Server) pageRoutes() {
	s.handle("GET /static/{path...}", s.pageStatic)
	s.handle("GET /lang/{lang}", s.pageLang)
	s.handle("GET /login", s.pageLogin)
	s.handle("POST /login", s.pageLoginSave)
	s.handle("POST /logout", s.page("", s.pageLogout))
	s.handle("GET /{$}", s.page("", s.pageHome))

	s.handle("GET /register", s.page(auth.RegisterPatient, s.pageRegister))
	s.handle("POST /register", s.page(auth.RegisterPatient, s.pageRegisterSave))
	s.handle("GET /search", s.page(auth.ViewPatient, s.pageSearch))
	s.handle("GET /patients/{uhid}", s.page(auth.ViewPatient, s.pagePatient))
	s.handle("GET /patients/{uhid}/amend", s.page(auth.RegisterPatient, s.pageAmend))
	s.handle("POST /patients/{uhid}/amend", s.page(auth.RegisterPatient, s.pageAmendSave))
	s.handle("POST /patients/{uhid}/merge", s.page(auth.RegisterPatient, s.pageMergeSave))
	s.handle("GET /barcode/{file}", s.page(auth.ViewPatient, s.pageBarcode))

	s.handle("POST /visits", s.page(auth.OpenVisit, s.pageVisitOpen))
	s.handle("GET /visits/{id}/slip", s.page(auth.OpenVisit, s.pageSlip))
	s.handle("GET /visits/{id}/slip.pdf", s.page(auth.OpenVisit, s.pageSlipPDF))
	s.handle("POST /visits/{id}/seen", s.page(auth.SeeQueue, s.pageSeenSave))
	s.handle("GET /queue", s.page(auth.SeeQueue, s.pageQueues))
	s.handle("GET /queue/{dept}", s.page(auth.SeeQueue, s.pageQueue))

	s.handle("GET /users", s.page(auth.ManageUsers, s.pageUsers))
	s.handle("POST /users", s.page(auth.ManageUsers, s.pageUserSave))
	s.handle("POST /users/{username}/disable", s.page(auth.ManageUsers, s.pageUserDisable))
	s.handle("GET /audit", s.page(auth.ReadAudit, s.pageAudit))
	s.handle("GET /status", s.page(auth.SeeStatus, s.pageStatus))
}
