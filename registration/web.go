package registration

import (
	"context"
	"embed"
	"html/template"
	"net/http"

	"kavach"

	"kavach/access"
	"kavach/idcode"
	"kavach/node"
	"kavach/service"
	"kavach/web"
)

// Registration's permissions.
const (
	RegisterPatient   access.Permission = "patient.register"  // register, amend, ask for or confirm a merge
	ViewPatient       access.Permission = "patient.view"      // search and open records
	MergePatients     access.Permission = "patient.merge"     // merge alone, and undo a merge
	ReconcilePatients access.Permission = "patient.reconcile" // the worklist of what nodes cut off from each other did
)

// The administrator manages users and the node; reading patients' records
// is for the roles that care for them.
var grants = []access.Grant{
	{Permission: RegisterPatient, What: "Register and amend patients; ask for a merge of two records, or confirm another person's",
		Roles: []access.Role{access.Registration, access.Records}},
	{Permission: ViewPatient, What: "Search for patients and open their records",
		Roles: []access.Role{access.Registration, access.Doctor, access.Lab, access.Billing, access.Nurse, access.Records}},
	{Permission: MergePatients, What: "Merge two records without a second person, and undo a merge",
		Roles: []access.Role{access.Records}},
	{Permission: ReconcilePatients, What: "See and resolve the reconciliation list: records registered twice, and details changed at two nodes, while cut off",
		Roles: []access.Role{access.Admin, access.Registration, access.Records}},
}

//go:embed templates/*.html
var templateFS embed.FS

// Service is registration: the patients and their UHIDs.
func Service() service.Service {
	return service.Service{
		Name:   "registration",
		Data:   Data(),
		Grants: grants,
		Web: web.Part{
			Routes:    routes,
			Templates: web.Sub(templateFS, "templates"),
			Hindi:     hindi,
			Funcs:     funcs,
			Nav: []web.Nav{
				{Href: "/search", Label: "Search", Key: "s", Desc: "Find a patient by UHID, mobile, ABHA number or name", Perm: ViewPatient, Order: 20},
				{Href: "/downtime-kit", Label: "Downtime kit", Desc: "Paper sheets with UHIDs for when the computer is down, and their back-entry", Perm: RegisterPatient, Order: 85},
				{Href: "/reconciliation", Label: "Reconciliation", Desc: "Records registered twice, or changed at two counters, while cut off", Perm: ReconcilePatients, Order: 80},
			},
		},
	}
}

// handlers are registration's API and page actions, one file each.
type handlers struct{ n *node.Node }

func routes(rt *web.Router) {
	h := &handlers{n: rt.Node()}
	rt.API("POST /api/v1/patients", RegisterPatient, h.apiRegister)
	rt.API("GET /api/v1/patients/duplicates", RegisterPatient, h.apiDuplicates)
	rt.API("GET /api/v1/patients/{uhid}", ViewPatient, h.apiPatient)
	rt.API("PATCH /api/v1/patients/{uhid}", RegisterPatient, h.apiAmend)
	rt.API("POST /api/v1/patients/{uhid}/merge", RegisterPatient, h.apiMerge)
	rt.API("POST /api/v1/patients/{uhid}/unmerge", MergePatients, h.apiUnmerge)
	rt.API("GET /api/v1/patients", ViewPatient, h.apiSearch)

	rt.Page("GET /search", ViewPatient, h.pageSearch)
	rt.Page("GET /patients/{uhid}", ViewPatient, h.pagePatient)
	rt.Page("GET /patients/{uhid}/amend", RegisterPatient, h.pageAmend)
	rt.Page("POST /patients/{uhid}/amend", RegisterPatient, h.pageAmendSave)
	rt.Page("POST /patients/{uhid}/merge", RegisterPatient, h.pageMergeSave)
	rt.Page("POST /patients/{uhid}/unmerge", MergePatients, h.pageUnmergeSave)
	rt.Page("GET /barcode/{file}", ViewPatient, h.pageBarcode)

	rt.API("POST /api/v1/downtime-kits", RegisterPatient, h.apiKit)
	rt.Page("GET /downtime-kit", RegisterPatient, h.pageKits)
	rt.Page("POST /downtime-kit", RegisterPatient, h.pageKitSave)
	rt.Page("GET /downtime-kit/{first}", RegisterPatient, h.pageKitPrint)

	rt.API("GET /api/v1/reconciliation", ReconcilePatients, h.apiReconciliation)
	rt.API("POST /api/v1/reconciliation/{id}/resolve", ReconcilePatients, h.apiReconcile)
	rt.Page("GET /reconciliation", ReconcilePatients, h.pageReconciliation)
	rt.Page("POST /reconciliation/{id}/resolve", ReconcilePatients, h.pageReconcileSave)
}

// funcs are the template functions for patients' fields.
func funcs(lang string, t func(string) string) template.FuncMap {
	return template.FuncMap{
		"uhid":      idcode.ShowUHID,
		"abha":      ABHADisplay,
		"statecode": StateCode,
		"sex":       func(code string) string { return t(Sexes[code]) },
		"category": func(code string) string {
			for _, c := range Categories {
				if c.Code == code {
					if lang == "hi" {
						return c.LabelHi
					}
					return c.Label
				}
			}
			return code
		},
	}
}

// FindTyped resolves a UHID typed or scanned into another service's page
// (the lab's collection, the cash counter), merges followed. A mistake of
// the user's -- not a UHID, a typing mistake, no such patient -- comes
// back as the message to show beside the box, in the page's language,
// with the status to answer; anything else as err.
func FindTyped(ctx context.Context, v *web.View, typed string) (p *Patient, msg string, status int, err error) {
	p, err = Resolve(ctx, v.Node().DB(), typed)
	switch code := kavach.ErrorCode(err); {
	case err == nil:
		return p, "", http.StatusOK, nil
	case code == kavach.ENOTFOUND:
		return nil, v.T("No patient with this UHID"), web.Status(code), nil
	case code == kavach.EINVALID:
		msg = v.T(kavach.ErrorMessage(err))
		if errs := web.FieldErrors(v, err); errs["uhid"] != "" {
			msg = errs["uhid"]
		}
		return nil, msg, web.Status(code), nil
	}
	return nil, "", 0, err
}
