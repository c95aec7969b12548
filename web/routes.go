package web

import "kavach/auth"

// routes lists every route of the API and the pages.
func (s *Server) routes() {
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /metrics", s.api(auth.SeeStatus, s.metricsText))

	s.handle("POST /api/v1/login", s.apiLogin)
	s.handle("POST /api/v1/logout", s.api("", s.apiLogout))
	s.handle("GET /api/v1/checkpoint", s.api("", s.apiCheckpoint))
	s.handle("GET /api/v1/proof/inclusion", s.api("", s.apiInclusionProof))
	s.handle("GET /api/v1/proof/consistency", s.api("", s.apiConsistencyProof))

	s.handle("GET /api/v1/replicate/events", s.replicator(s.apiReplicateEvents))
	s.handle("POST /api/v1/replicate/cosignature", s.replicator(s.apiReplicateCosignature))

	s.handle("POST /api/v1/patients", s.api(auth.RegisterPatient, s.apiRegister))
	s.handle("GET /api/v1/patients/duplicates", s.api(auth.RegisterPatient, s.apiDuplicates))
	s.handle("GET /api/v1/patients/{uhid}", s.api(auth.ViewPatient, s.apiPatient))
	s.handle("PATCH /api/v1/patients/{uhid}", s.api(auth.RegisterPatient, s.apiAmend))
	s.handle("POST /api/v1/patients/{uhid}/merge", s.api(auth.RegisterPatient, s.apiMerge))
	s.handle("GET /api/v1/patients/{uhid}/history", s.api(auth.ViewPatient, s.apiHistory))
	s.handle("GET /api/v1/patients", s.api(auth.ViewPatient, s.apiSearch))

	s.handle("GET /api/v1/departments", s.api("", s.apiDepartments))
	s.handle("POST /api/v1/opd-visits", s.api(auth.OpenVisit, s.apiOpenVisit))
	s.handle("GET /api/v1/opd-visits/{id}", s.api(auth.ViewPatient, s.apiVisit))
	s.handle("GET /api/v1/opd-visits/{id}/slip.pdf", s.api(auth.OpenVisit, s.apiSlipPDF))
	s.handle("POST /api/v1/opd-visits/{id}/seen", s.api(auth.SeeQueue, s.apiMarkSeen))
	s.handle("GET /api/v1/opd-queue/{dept}", s.api(auth.SeeQueue, s.apiQueue))

	s.handle("GET /api/v1/users", s.api(auth.ManageUsers, s.apiUsers))
	s.handle("POST /api/v1/users", s.api(auth.ManageUsers, s.apiAddUser))
	s.handle("POST /api/v1/users/{username}/disable", s.api(auth.ManageUsers, s.apiDisableUser))

	s.handle("GET /api/v1/audit", s.api(auth.ReadAudit, s.apiAudit))
	s.handle("GET /api/v1/status", s.api(auth.SeeStatus, s.apiStatus))

	s.pageRoutes()
}
