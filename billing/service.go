package billing

import (
	"context"

	"kavach/access"
	"kavach/node"
	"kavach/service"
)

// Billing's permissions.
const (
	TakePayments  access.Permission = "billing.collect" // take payments, print receipts, see accounts
	CancelCharges access.Permission = "billing.cancel"  // cancel a charge, with a reason
	GiveRefunds   access.Permission = "billing.refund"  // refund a receipt, with a reason
	Approve       access.Permission = "billing.approve" // approve a refund above the threshold
	CloseCounter  access.Permission = "billing.dayend"  // close a shift or a counter's day
	SeeDayEnds    access.Permission = "billing.reports" // the day's takings, receipts as CSV
	EditTariffs   access.Permission = "billing.tariffs" // set prices
)

var grants = []access.Grant{
	{Permission: TakePayments, What: "Take payments, print receipts and see patients' accounts", Roles: []access.Role{access.Billing, access.Accounts}},
	{Permission: CancelCharges, What: "Cancel a charge, with a reason", Roles: []access.Role{access.Billing, access.Accounts}},
	{Permission: GiveRefunds, What: "Refund a receipt, with a reason", Roles: []access.Role{access.Billing, access.Accounts}},
	{Permission: Approve, What: "Approve a refund above ₹1,000 asked for by someone else", Roles: []access.Role{access.Accounts}},
	{Permission: CloseCounter, What: "Count the cash and close a shift or a counter's day", Roles: []access.Role{access.Billing, access.Accounts}},
	{Permission: SeeDayEnds, What: "See the day's takings by counter and mode, and export receipts", Roles: []access.Role{access.Billing, access.Accounts, access.Auditor}},
	{Permission: EditTariffs, What: "Set the prices of services", Roles: []access.Role{access.Admin}},
}

// Service is billing: tariffs, accounts, payments, refunds, day end.
func Service() service.Service {
	return service.Service{Name: "billing", Data: Data(), Grants: grants, Web: webPart(), Demo: demo}
}

// DemoPrices are the prices --demo sets, in force from 2000-01-01.
var DemoPrices = []NewPrice{
	{Code: "opd.new", Name: "OPD registration and consultation", Paise: 1000},
	{Code: "opd.new", Name: "OPD registration and consultation", Category: "bpl", Paise: 0},
	{Code: "opd.new", Name: "OPD registration and consultation", Category: "senior", Paise: 0},
	{Code: "opd.new", Name: "OPD registration and consultation", Category: "staff", Paise: 0},
	{Code: "opd.new", Name: "OPD registration and consultation", Category: "scheme", Paise: 0},
	{Code: "opd.revisit", Name: "OPD revisit", Paise: 0},
	{Code: "lab.CBC", Name: "Complete blood count", Paise: 15000},
	{Code: "lab.HB", Name: "Haemoglobin", Paise: 3000},
	{Code: "lab.HBA1C", Name: "HbA1c", Paise: 30000},
	{Code: "lab.GLUF", Name: "Glucose, fasting", Paise: 4000},
	{Code: "lab.GLUPP", Name: "Glucose, post-prandial", Paise: 4000},
	{Code: "lab.LFT", Name: "Liver function tests", Paise: 22500},
	{Code: "lab.KFT", Name: "Kidney function tests", Paise: 22500},
	{Code: "lab.LIPID", Name: "Lipid profile", Paise: 20000},
	{Code: "lab.ELEC", Name: "Serum electrolytes", Paise: 15000},
	{Code: "lab.THY", Name: "Thyroid profile", Paise: 35000},
	{Code: "lab.URINE", Name: "Urine routine and microscopy", Paise: 5000},
	{Code: "ipd.bed_general", Name: "Bed-day, general ward", Paise: 3500},
	{Code: "ipd.bed_private", Name: "Bed-day, private ward", Paise: 100000},
	{Code: "ipd.bed_icu", Name: "Bed-day, ICU", Paise: 250000},
}

func demo(ctx context.Context, n *node.Node, password string) error {
	return n.Do(ctx, "system", func(tx *node.Tx) error {
		for _, p := range DemoPrices {
			// The lab's price is for every category but BPL, which is free.
			p.Effective = "2000-01-01"
			if err := SetPrice(tx, p); err != nil {
				return err
			}
			if p.Category == "" && (p.Code[:4] == "lab." || p.Code[:4] == "ipd.") {
				p.Category, p.Paise = "bpl", 0
				if err := SetPrice(tx, p); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
