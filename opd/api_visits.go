package opd

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"kavach"
	"kavach/access"
	"kavach/audit"
	"kavach/node"
	"kavach/report"
	"kavach/web"
)

func (h *handlers) apiDepartments(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	ds, err := Departments(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"departments": ds})
}

func (h *handlers) apiOpenVisit(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in NewVisit
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	var v *Visit
	err := h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		var err error
		v, err = Open(tx, in)
		return err
	})
	var dup *DuplicateVisit
	if errors.As(err, &dup) {
		// The error names the visit the patient already has, to reprint.
		body := map[string]any{"code": dup.Err.Code, "message": dup.Err.Message}
		if len(dup.Err.Fields) > 0 {
			body["fields"] = dup.Err.Fields
		}
		body["visit_id"] = dup.Visit.ID
		return web.WriteJSON(w, web.Status(dup.Err.Code), map[string]any{"error": body, "visit_id": dup.Visit.ID, "visit": dup.Visit})
	}
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusCreated, v)
}

func (h *handlers) apiVisit(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	v, err := GetVisit(r.Context(), h.n.DB(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// A visit is part of the patient's record: who came to which department when.
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.visit", v.UHID); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, v)
}

func (h *handlers) apiMarkSeen(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	return web.Write(w, r, h.n, sess, http.StatusOK, func(tx *node.Tx) (*Visit, error) {
		return MarkSeen(tx, r.PathValue("id"))
	})
}

func (h *handlers) apiMarkUnseen(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	return web.Write(w, r, h.n, sess, http.StatusOK, func(tx *node.Tx) (*Visit, error) {
		return MarkUnseen(tx, r.PathValue("id"))
	})
}

func (h *handlers) apiQueue(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	dept := strings.ToUpper(r.PathValue("dept"))
	if _, err := GetDepartment(r.Context(), h.n.DB(), dept); err != nil {
		return err
	}
	date, err := web.QueryDay(r, h.n.Now())
	if err != nil {
		return err
	}
	q, err := Queue(r.Context(), h.n.DB(), dept, date)
	if err != nil {
		return err
	}
	uhids := make([]string, len(q))
	for i := range q {
		uhids[i] = q[i].UHID
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.queue", uhids...); err != nil {
		return err
	}
	if q == nil {
		q = []QueueEntry{}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"department": dept, "date": date, "queue": q})
}

// slipFor gathers a visit's slip on this node.
func (h *handlers) slipFor(r *http.Request, id string) (*SlipView, error) {
	return LoadSlip(r.Context(), h.n.DB(), h.n.Info().HospitalName, id)
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

func (h *handlers) apiSlipPDF(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	size := report.A5
	switch r.URL.Query().Get("size") {
	case "", "a5", "A5":
	case "80mm", "thermal":
		size = report.Thermal80
	default:
		return &kavach.Error{Code: kavach.EINVALID, Message: "Slip size must be a5 or 80mm.", Fields: map[string]string{"size": "must be a5 or 80mm"}}
	}
	sv, err := h.slipFor(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.slip", sv.Patient.UHID); err != nil {
		return err
	}
	return writeSlipPDF(w, sv.Slip, size)
}
