package opd

import (
	"context"

	"kavach/registration"
	"kavach/web"
)

// patientPanel is the OPD's part of a patient's page: the form that opens
// today's visit, and the visits.
type patientPanel struct {
	*web.View
	P           *registration.Patient
	Departments []Department
	DeptNames   map[string]Department
	Visits      []Visit
	// Dept is the department the visit card offers first: the patient's
	// last visit's, or for a first visit the one this counter chose last.
	Dept string
}

// loadPatientPanel gathers the OPD's panel for a patient's page. The page
// audits the read of the record, visits included.
func loadPatientPanel(ctx context.Context, v *web.View, uhid string) (any, error) {
	db := v.Node().DB()
	p, err := registration.Get(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	pp := &patientPanel{View: v, P: p, DeptNames: map[string]Department{}}
	family, err := registration.Family(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	if pp.Visits, err = PatientVisits(ctx, db, family...); err != nil {
		return nil, err
	}
	if pp.Departments, err = Departments(ctx, db); err != nil {
		return nil, err
	}
	for _, d := range pp.Departments {
		pp.DeptNames[d.Code] = d
	}
	pp.Dept = lastDepartment(v, pp.Departments)
	if len(pp.Visits) > 0 {
		if _, ok := pp.DeptNames[pp.Visits[0].Department]; ok {
			pp.Dept = pp.Visits[0].Department
		}
	}
	return pp, nil
}

// loadVisitCount gathers how many visits a record has, those of records
// merged into it included: a merge's confirmation shows it for both.
func loadVisitCount(ctx context.Context, v *web.View, uhid string) (any, error) {
	db := v.Node().DB()
	family, err := registration.Family(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	n, err := VisitCount(ctx, db, family...)
	if err != nil {
		return nil, err
	}
	return struct{ Count int }{n}, nil
}
