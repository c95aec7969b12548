package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"kavach"
	"kavach/audit"
	"kavach/auth"
	"kavach/billing"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
	"kavach/report"
)

func (s *Server) apiDepartments(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ds, err := opd.Departments(r.Context(), s.n.DB())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"departments": ds})
}

func (s *Server) apiOpenVisit(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	var in opd.NewVisit
	if err := decode(r, &in); err != nil {
		return err
	}
	var v *opd.Visit
	err := s.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		var err error
		v, err = opd.Open(tx, in)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (s *Server) apiVisit(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	v, err := opd.GetVisit(r.Context(), s.n.DB(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiMarkSeen(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	var v *opd.Visit
	err := s.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		var err error
		v, err = opd.MarkSeen(tx, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	dept := strings.ToUpper(r.PathValue("dept"))
	if _, err := opd.GetDepartment(r.Context(), s.n.DB(), dept); err != nil {
		return err
	}
	date := r.URL.Query().Get("date")
	if date == "" {
		date = opd.Today()
	}
	q, err := opd.Queue(r.Context(), s.n.DB(), dept, date)
	if err != nil {
		return err
	}
	uhids := make([]string, len(q))
	for i := range q {
		uhids[i] = q[i].UHID
	}
	if err := audit.Viewed(r.Context(), s.n, sess.User.Username, "api.queue", uhids...); err != nil {
		return err
	}
	if q == nil {
		q = []opd.QueueEntry{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"department": dept, "date": date, "queue": q})
}

// slipFor gathers what a slip shows for a visit.
func (s *Server) slipFor(r *http.Request, id string) (*report.Slip, *opd.Visit, *registration.Patient, *opd.Department, error) {
	ctx := r.Context()
	v, err := opd.GetVisit(ctx, s.n.DB(), id)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	p, err := registration.Get(ctx, s.n.DB(), v.UHID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	d, err := opd.GetDepartment(ctx, s.n.DB(), v.Department)
	if err != nil {
		return nil, nil, nil, nil, err
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
	slip := &report.Slip{
		Hospital:    s.n.Info().HospitalName,
		UHID:        p.UHID,
		UHIDDisplay: registration.UHIDDisplay(p.UHID),
		Name:        p.Name,
		Guardian:    p.GuardianText(),
		AgeSex:      fmt.Sprintf("%s / %s", p.AgeText(opened), p.Sex),
		Category:    registration.CategoryLabel(p.Category),
		Mobile:      p.Mobile,
		Address:     addr,
		Department:  fmt.Sprintf("%s (%s)", d.Name, d.Code),
		Unit:        d.Unit,
		Room:        d.Room,
		Doctor:      d.Doctor,
		VisitID:     v.ID,
		VisitKind:   kind,
		Token:       v.Token,
		Time:        opened,
		ValidUpTo:   v.ValidUpTo(),
		Fee:         fee,
	}
	return slip, v, p, d, nil
}

func (s *Server) apiSlipPDF(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	slip, _, p, _, err := s.slipFor(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	size := report.A5
	switch r.URL.Query().Get("size") {
	case "", "a5", "A5":
	case "80mm", "thermal":
		size = report.Thermal80
	default:
		return &kavach.Error{Code: kavach.EINVALID, Message: "Slip size must be a5 or 80mm.", Fields: map[string]string{"size": "must be a5 or 80mm"}}
	}
	var buf bytes.Buffer
	if err := report.SlipPDF(&buf, *slip, size); err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), s.n, sess.User.Username, "api.slip", p.UHID); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="slip-%s.pdf"`, slip.VisitID))
	_, err = w.Write(buf.Bytes())
	return err
}
