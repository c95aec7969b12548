package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"kavach"
	"kavach/audit"
	"kavach/auth"
	"kavach/node"
	"kavach/opd"
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
	// A visit is part of the patient's record: who came to which department when.
	if err := audit.Viewed(r.Context(), s.n, sess.User.Username, "api.visit", v.UHID); err != nil {
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
		date = kavach.Day(time.Now())
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

// slipFor gathers a visit's slip on this node.
func (s *Server) slipFor(r *http.Request, id string) (*opd.SlipView, error) {
	return opd.LoadSlip(r.Context(), s.n.DB(), s.n.Info().HospitalName, id)
}

// writeSlipPDF renders a slip as a PDF and sends it; the caller has audited
// the view.
func writeSlipPDF(w http.ResponseWriter, slip report.Slip, paper report.PageSize) error {
	var buf bytes.Buffer
	if err := report.SlipPDF(&buf, slip, paper); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="slip-%s.pdf"`, slip.VisitID))
	_, err := w.Write(buf.Bytes())
	return err
}

func (s *Server) apiSlipPDF(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	size := report.A5
	switch r.URL.Query().Get("size") {
	case "", "a5", "A5":
	case "80mm", "thermal":
		size = report.Thermal80
	default:
		return &kavach.Error{Code: kavach.EINVALID, Message: "Slip size must be a5 or 80mm.", Fields: map[string]string{"size": "must be a5 or 80mm"}}
	}
	sv, err := s.slipFor(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), s.n, sess.User.Username, "api.slip", sv.Patient.UHID); err != nil {
		return err
	}
	return writeSlipPDF(w, sv.Slip, size)
}
