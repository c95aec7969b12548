package billing

import (
	"embed"
	"html/template"

	"kavach/node"
	"kavach/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// handlers are billing's API and page actions.
type handlers struct {
	n *node.Node
}

func webPart() web.Part {
	return web.Part{
		Routes:    routes,
		Templates: web.Sub(templateFS, "templates"),
		Static:    web.Sub(staticFS, "static"),
		Hindi:     hindi,
		Funcs: func(lang string, t func(string) string) template.FuncMap {
			return template.FuncMap{
				"rupees": Rupees,
				"inr":    inr,
				"words": func(p int64) string {
					if lang == "hi" {
						return InWordsHindi(p)
					}
					return InWords(p)
				},
				"wordsEn": InWords,
				"wordsHi": InWordsHindi,
			}
		},
		Nav: []web.Nav{
			{Href: "/billing", Label: "Billing", Key: "g", Desc: "Patients' accounts, payments, receipts and refunds", Perm: TakePayments, Order: 50},
			{Href: "/billing/tariffs", Label: "Prices", Key: "y", Desc: "What each service costs, by patient category, from a date", Perm: EditTariffs, Order: 52},
			{Href: "/billing/day-end", Label: "Day end", Key: "e", Desc: "Count the cash and close the counter's day", Perm: CloseCounter, Order: 51},
		},
		Panels: []web.Panel{
			{Page: "patient", Perm: TakePayments, Card: "billing_card", Load: loadPatientPanel},
		},
	}
}

func routes(rt *web.Router) {
	h := &handlers{n: rt.Node()}
	rt.API("GET /api/v1/tariffs", "", h.apiTariffs)
	rt.API("POST /api/v1/tariffs", EditTariffs, h.apiSetPrice)
	rt.API("GET /api/v1/accounts/{uhid}", TakePayments, h.apiAccount)
	rt.API("POST /api/v1/payments", TakePayments, h.apiPay)
	rt.API("GET /api/v1/receipts/{receipt}", TakePayments, h.apiReceipt)
	rt.API("GET /api/v1/receipts.csv", SeeDayEnds, h.apiReceiptsCSV)
	rt.API("POST /api/v1/charges/{id}/cancel", CancelCharges, h.apiCancelCharge)
	rt.API("POST /api/v1/refunds", GiveRefunds, h.apiRefund)
	rt.API("GET /api/v1/refunds", Approve, h.apiPendingRefunds)
	rt.API("POST /api/v1/refunds/{refund}/approve", Approve, h.apiApproveRefund)
	rt.API("GET /api/v1/day-end", SeeDayEnds, h.apiDayEnd)
	rt.API("GET /api/v1/day-end/shift", CloseCounter, h.apiShift)
	rt.API("POST /api/v1/day-end", CloseCounter, h.apiCloseDay)
	pageRoutes(rt, h)
}
