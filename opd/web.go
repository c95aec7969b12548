package opd

import (
	"context"
	"embed"
	"html/template"

	"kavach/access"
	"kavach/node"
	"kavach/registration"
	"kavach/service"
	"kavach/web"
)

// The OPD's permissions.
const (
	OpenVisit access.Permission = "opd.visit" // open an OPD visit, print its slip
	SeeQueue  access.Permission = "opd.queue" // a department's queue, mark seen or undo it
)

var grants = []access.Grant{
	{Permission: OpenVisit, What: "Open a patient's OPD visit and print its slip",
		Roles: []access.Role{access.Registration, access.Doctor}},
	{Permission: SeeQueue, What: "See a department's OPD queue and mark patients seen",
		Roles: []access.Role{access.Doctor, access.Nurse}},
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Service is the outpatient department: departments, visits with their
// tokens and slips, and the doctors' queues. Its registration page is the
// counter's: a new patient's record and today's visit in one form.
func Service() service.Service {
	return service.Service{
		Name:   "opd",
		Data:   Data(),
		Grants: grants,
		Web: web.Part{
			Routes:    routes,
			Templates: web.Sub(templateFS, "templates"),
			Static:    web.Sub(staticFS, "static"),
			Hindi:     hindi,
			Funcs:     funcs,
			Nav: []web.Nav{
				{Href: "/register", Label: "Registration", Key: "r", Desc: "Register a new patient and print the OPD slip", Perm: registration.RegisterPatient, Order: 10},
				{Href: "/queue", Label: "Queue", Key: "q", Desc: "Today's OPD queue of a department", Perm: SeeQueue, Order: 30},
			},
			Panels: []web.Panel{
				{Page: "patient", Card: "opd_visit_card", Body: "opd_visits", Load: loadPatientPanel},
				{Page: "merge_confirm", Card: "opd_visit_count", Load: loadVisitCount},
			},
		},
		Demo: demo,
	}
}

// handlers are the OPD's API and page actions, one file each.
type handlers struct{ n *node.Node }

func routes(rt *web.Router) {
	h := &handlers{n: rt.Node()}
	rt.API("GET /api/v1/departments", "", h.apiDepartments)
	rt.API("POST /api/v1/opd-visits", OpenVisit, h.apiOpenVisit)
	rt.API("GET /api/v1/opd-visits/{id}", registration.ViewPatient, h.apiVisit)
	rt.API("GET /api/v1/opd-visits/{id}/slip.pdf", OpenVisit, h.apiSlipPDF)
	rt.API("POST /api/v1/opd-visits/{id}/seen", SeeQueue, h.apiMarkSeen)
	rt.API("POST /api/v1/opd-visits/{id}/unseen", SeeQueue, h.apiMarkUnseen)
	rt.API("GET /api/v1/opd-queue/{dept}", SeeQueue, h.apiQueue)
	rt.API("GET /api/v1/patients/{uhid}/history", registration.ViewPatient, h.apiHistory)

	// The counter's form registers a patient and opens their visit.
	rt.Page("GET /register", registration.RegisterPatient, h.pageRegister, web.AlsoNeeds(OpenVisit))
	rt.Page("POST /register", registration.RegisterPatient, h.pageRegisterSave, web.AlsoNeeds(OpenVisit))
	rt.Page("GET /back-entry", registration.RegisterPatient, h.pageBackEntry, web.AlsoNeeds(OpenVisit))
	rt.Page("POST /back-entry", registration.RegisterPatient, h.pageBackEntrySave, web.AlsoNeeds(OpenVisit))
	rt.API("POST /api/v1/back-entries", registration.RegisterPatient, h.apiBackEntry, web.AlsoNeeds(OpenVisit))
	rt.Page("POST /visits", OpenVisit, h.pageVisitOpen)
	rt.Page("GET /visits/{id}/slip", OpenVisit, h.pageSlip)
	rt.Page("GET /visits/{id}/slip.pdf", OpenVisit, h.pageSlipPDF)
	rt.Page("POST /visits/{id}/seen", SeeQueue, h.pageSeenSave)
	rt.Page("POST /visits/{id}/unseen", SeeQueue, h.pageUnseenSave)
	rt.Page("GET /queue", SeeQueue, h.pageQueues)
	rt.Page("GET /queue/{dept}", SeeQueue, h.pageQueue)
}

// funcs are the template functions for departments and visits.
func funcs(lang string, t func(string) string) template.FuncMap {
	return template.FuncMap{
		"dept": func(d Department) string {
			if lang == "hi" && d.NameHi != "" {
				return d.NameHi
			}
			return d.Name
		},
		"kind": func(k string) string {
			if k == "revisit" {
				return t("Revisit")
			}
			return t("New")
		},
	}
}

// DemoDepartments are the departments --demo adds.
var DemoDepartments = []Department{
	{Code: "MED", Name: "General Medicine", NameHi: "सामान्य चिकित्सा", Room: "101", Days: "Mon–Sat", Unit: "Unit I", Doctor: "Dr. A. Sharma"},
	{Code: "SUR", Name: "General Surgery", NameHi: "सामान्य शल्य चिकित्सा", Room: "201", Days: "Mon, Wed, Fri", Unit: "Unit I", Doctor: "Dr. R. Verma"},
	{Code: "PED", Name: "Paediatrics", NameHi: "बाल रोग", Room: "105", Days: "Mon–Sat", Unit: "Unit II", Doctor: "Dr. S. Iyer"},
	{Code: "ENT", Name: "ENT", NameHi: "नाक, कान, गला", Room: "110", Days: "Tue, Thu, Sat", Unit: "Unit I", Doctor: "Dr. K. Gupta"},
	{Code: "EYE", Name: "Ophthalmology", NameHi: "नेत्र रोग", Room: "115", Days: "Mon–Sat", Unit: "Unit I", Doctor: "Dr. M. Khan"},
	{Code: "ORT", Name: "Orthopaedics", NameHi: "हड्डी रोग", Room: "210", Days: "Mon, Thu", Unit: "Unit I", Doctor: "Dr. P. Singh"},
	{Code: "OBG", Name: "Obstetrics & Gynaecology", NameHi: "प्रसूति एवं स्त्री रोग", Room: "301", Days: "Mon–Sat", Unit: "Unit I", Doctor: "Dr. N. Rao"},
	{Code: "DER", Name: "Dermatology", NameHi: "त्वचा रोग", Room: "120", Days: "Tue, Fri", Unit: "Unit I", Doctor: "Dr. L. Menon"},
}

func demo(ctx context.Context, n *node.Node, password string) error {
	return n.Do(ctx, "system", func(tx *node.Tx) error {
		for _, d := range DemoDepartments {
			if err := AddDepartment(tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}
