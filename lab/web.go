package lab

import (
	"embed"
	"html/template"
	"strings"

	"kavach/node"
	"kavach/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// handlers are the lab's API and page actions, one file each.
type handlers struct {
	n  *node.Node
	rt *web.Router
}

func webPart() web.Part {
	return web.Part{
		Routes:    routes,
		Templates: web.Sub(templateFS, "templates"),
		Static:    web.Sub(staticFS, "static"),
		Hindi:     hindi,
		Funcs:     funcs,
		Nav: []web.Nav{
			{Href: "/lab/collect", Label: "Collection", Key: "c", Desc: "Collect samples for a patient's lab orders and print labels", Perm: CollectSamples, Order: 40},
			{Href: "/lab/receive", Label: "Lab", Key: "b", Desc: "Receive samples, worklists, result entry and critical values", Perm: ReceiveSamples, Order: 41},
			{Href: "/lab/catalogue", Label: "Lab catalogue", Key: "t", Desc: "The lab's tests and analytes: ranges, critical limits, LOINC codes", Perm: EditCatalogue, Order: 43},
			{Href: "/lab/verify", Label: "Verification", Key: "v", Desc: "Verify results and release reports", Perm: VerifyResults, Order: 42},
		},
		Panels: []web.Panel{
			{Page: "patient", Perm: SeeStatus, Body: "lab_panel", Load: loadPatientPanel},
		},
	}
}

func routes(rt *web.Router) {
	h := &handlers{n: rt.Node(), rt: rt}
	rt.API("GET /api/v1/lab-tests", "", h.apiCatalogue)
	rt.API("POST /api/v1/lab-tests", EditCatalogue, h.apiSpecifyTest)
	rt.API("POST /api/v1/lab-analytes", EditCatalogue, h.apiDefineAnalyte)
	rt.API("POST /api/v1/lab-orders", OrderTests, h.apiOrder)
	rt.API("GET /api/v1/lab-orders/{id}", SeeStatus, h.apiGetOrder)
	rt.API("POST /api/v1/lab-orders/{id}/cancel", CancelOrders, h.apiCancel)
	rt.API("POST /api/v1/lab-orders/{id}/collect", CollectSamples, h.apiCollect)
	rt.API("GET /api/v1/patients/{uhid}/lab", SeeStatus, h.apiPatientLab)
	rt.API("GET /api/v1/samples/{accession}", SeeStatus, h.apiSample)
	rt.API("GET /api/v1/samples/{accession}/label.pdf", CollectSamples, h.apiLabel)
	rt.API("POST /api/v1/samples/{accession}/receive", ReceiveSamples, h.apiReceive)
	rt.API("POST /api/v1/samples/{accession}/reject", ReceiveSamples, h.apiReject)
	rt.API("POST /api/v1/samples/{accession}/results", EnterResults, h.apiResults)
	rt.API("POST /api/v1/samples/{accession}/verify", VerifyResults, h.apiVerify)
	rt.API("POST /api/v1/samples/{accession}/critical-calls", CallCritical, h.apiCall)
	rt.API("GET /api/v1/samples/{accession}/reports", SeeResults, h.apiReports)
	rt.API("GET /api/v1/samples/{accession}/report.pdf", SeeResults, h.apiReportPDF)
	rt.API("GET /api/v1/worklists/{section}", EnterResults, h.apiWorklist)
	rt.API("GET /api/v1/critical-values", CallCritical, h.apiCriticals)
	// Anyone holding a report may check it: the QR code's address.
	rt.PublicAPI("GET /api/v1/public/reports/{origin}/{index}/{hash}", h.apiPublicProof)
	rt.PublicPage("GET /r/{origin}/{index}/{hash}", h.pageVerifyReport)

	pageRoutes(rt, h)
}

// funcs are the template functions for the lab's pages.
func funcs(lang string, t func(string) string) template.FuncMap {
	return template.FuncMap{
		"section": func(code string) string {
			if s, ok := Sections[code]; ok {
				return t(s)
			}
			return code
		},
		"flagClass": func(f string) string {
			switch f {
			case "HH", "LL":
				return "flag-critical"
			case "H", "L":
				return "flag-abnormal"
			}
			return ""
		},
		"joinTests": func(ts []string) string { return strings.Join(ts, ", ") },
		"hasPrefix": strings.HasPrefix,
	}
}
