package audit

// actions says in words what each action of record.viewed did, for the
// trail's page: the code ("page.slip") is the contract, the phrase is what
// an auditor reads. The API gives both.
var actions = map[string]string{
	// Registration.
	"page.patient":        "opened the patient's record",
	"api.patient":         "read the patient's record",
	"page.amend":          "opened the patient's record to correct it",
	"page.merge_confirm":  "compared two records to merge them",
	"page.search":         "searched for patients",
	"api.search":          "searched for patients",
	"api.duplicates":      "checked for duplicate records",
	"page.duplicates":     "was shown possible duplicates while registering",
	"duplicate-warning":   "was shown possible duplicates while registering",
	"page.reconciliation": "looked at the records to reconcile",
	"api.reconciliation":  "read the records to reconcile",

	// OPD.
	"page.slip":         "printed the OPD slip",
	"page.slip.pdf":     "printed the OPD slip as PDF",
	"api.slip":          "read the OPD slip",
	"api.visit":         "read a visit",
	"page.visit_repeat": "was shown the patient's visit already open today",
	"page.queue":        "looked at a department's queue",
	"api.queue":         "read a department's queue",
	"api.history":       "read the patient's visit history",

	// Lab.
	"page.lab_order":      "ordered lab tests",
	"api.lab_order":       "read a lab order",
	"page.lab_cancel":     "opened a lab order to cancel it",
	"page.collect":        "collected the patient's samples",
	"page.labels":         "printed sample labels",
	"page.label.pdf":      "printed a sample label",
	"api.label":           "printed a sample label",
	"page.receive":        "received a sample in the lab",
	"page.worklist":       "looked at a lab worklist",
	"api.worklist":        "read a lab worklist",
	"page.sample":         "read lab results",
	"api.sample":          "read lab results",
	"api.patient_lab":     "read the patient's lab results",
	"page.verify":         "looked at results awaiting verification",
	"page.criticals":      "looked at critical results",
	"api.criticals":       "read critical results",
	"page.report":         "printed a lab report",
	"api.report":          "printed a lab report",
	"api.reports":         "read lab reports",
	"public.report":       "a lab report was opened by its public link",
	"public.report_proof": "a lab report's proof was checked by its public link",

	// Billing.
	"page.account":     "looked at the patient's account",
	"api.account":      "read the patient's account",
	"page.receipt":     "looked at a receipt",
	"page.receipt_pdf": "printed a receipt",
	"api.receipt":      "read a receipt",
	"api.receipts_csv": "exported receipts",
	"page.refunds":     "looked at refunds",
	"api.refunds":      "read refunds",
}

// ActionText is the action in words, in English; an action it does not
// know is its code.
func ActionText(action string) string {
	if s, ok := actions[action]; ok {
		return s
	}
	return action
}
