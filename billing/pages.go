package billing

import (
	"kavach/web"
)

// pageRoutes registers billing's pages for the counter: one file per
// action (page_*.go). Every form posts to an action that runs the same
// command as the API, inside the node's writer, and redirects to a page; a
// refused form comes back with its fields marked and nothing written.
func pageRoutes(rt *web.Router, h *handlers) {
	// The counter: a patient's account, payments, cancelled charges, refunds.
	rt.Page("GET /billing", TakePayments, h.pageAccount)
	rt.Page("POST /billing/payments", TakePayments, h.pagePaySave)
	rt.Page("POST /billing/charges/cancel", CancelCharges, h.pageCancelSave)
	rt.Page("POST /billing/refunds", GiveRefunds, h.pageRefundSave)
	// The receipt's 80 mm print view, and with .pdf its PDF.
	rt.Page("GET /billing/receipts/{receipt}", TakePayments, h.pageReceipt)
	// The cash office's approval of large refunds.
	rt.Page("GET /billing/refunds", Approve, h.pageRefunds)
	rt.Page("POST /billing/refunds/{refund}/approve", Approve, h.pageApproveSave)
	// Day end: the cash count and handover, the day's takings, receipts as CSV.
	rt.Page("GET /billing/day-end", CloseCounter, h.pageDayEnd)
	rt.Page("POST /billing/day-end", CloseCounter, h.pageDayEndSave)
	rt.Page("GET /billing/takings", SeeDayEnds, h.pageTakings)
	rt.Page("GET /billing/receipts.csv", SeeDayEnds, h.pageReceiptsCSV)
	// The administrator's prices.
	rt.Page("GET /billing/tariffs", EditTariffs, h.pageTariffs)
	rt.Page("POST /billing/tariffs", EditTariffs, h.pageTariffSave)
}
