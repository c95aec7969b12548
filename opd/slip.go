package opd

import (
	"context"
	"fmt"

	"kavach/billing"
	"kavach/journal"
	"kavach/registration"
	"kavach/report"
)

// SlipView is everything an OPD slip shows for one visit: the print view and
// the PDF both start from it.
type SlipView struct {
	Slip       report.Slip
	Visit      *Visit
	Patient    *registration.Patient
	Department *Department
}

// LoadSlip gathers a visit's slip.
func LoadSlip(ctx context.Context, db journal.DBTX, hospital, id string) (*SlipView, error) {
	v, err := GetVisit(ctx, db, id)
	if err != nil {
		return nil, err
	}
	p, err := registration.Get(ctx, db, v.UHID)
	if err != nil {
		return nil, err
	}
	d, err := GetDepartment(ctx, db, v.Department)
	if err != nil {
		return nil, err
	}
	opened := v.OpenedTime()
	fee := billing.Rupees(v.Fee)
	if v.Fee == 0 {
		fee = "Nil (" + registration.CategoryLabel(p.Category) + ")"
	}
	kind := "New"
	if v.Kind == "revisit" {
		kind = "Revisit"
	}
	addr := p.Address
	for _, part := range []string{p.City, p.District, p.State, p.PIN} {
		if part != "" {
			addr += ", " + part
		}
	}
	// The PDF carries what the print view shows, in the same words.
	return &SlipView{Visit: v, Patient: p, Department: d, Slip: report.Slip{
		Hospital:     hospital,
		UHID:         p.UHID,
		Name:         p.Name,
		NameHi:       p.NameHi,
		Guardian:     p.GuardianText(),
		AgeSex:       fmt.Sprintf("%s / %s", p.AgeText(opened), p.Sex),
		Category:     registration.CategoryLabel(p.Category),
		CategoryID:   p.CategoryID,
		Mobile:       p.Mobile,
		Address:      addr,
		Department:   fmt.Sprintf("%s (%s)", d.Name, d.Code),
		DepartmentHi: d.NameHi,
		Unit:         d.Unit,
		Room:         d.Room,
		Doctor:       d.Doctor,
		Days:         d.Days,
		VisitID:      v.ID,
		VisitKind:    kind,
		VisitKindHi:  hindi[kind],
		Token:        v.Token,
		TokenText:    v.TokenText(),
		Time:         opened,
		ValidUpTo:    v.ValidUpTo(),
		Fee:          fee,
	}}, nil
}
