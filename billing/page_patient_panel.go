package billing

import (
	"context"

	"kavach/web"
)

// patientPanel is billing's card on a patient's page: what they owe, and
// the way to the counter's page for them.
type patientPanel struct {
	*web.View
	UHID    string
	Balance int64
	Unpaid  int // charges not yet paid in full
}

// loadPatientPanel gathers the balance for a patient's page; the page
// audits the read.
func loadPatientPanel(ctx context.Context, v *web.View, uhid string) (any, error) {
	a, err := GetAccount(ctx, v.Node().DB(), uhid)
	if err != nil {
		return nil, err
	}
	p := &patientPanel{View: v, UHID: uhid, Balance: a.Balance}
	for _, c := range a.Charges {
		if c.Status == "unpaid" || c.Status == "part_paid" {
			p.Unpaid++
		}
	}
	return p, nil
}
