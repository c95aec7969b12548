package lab

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"kavach"
	"kavach/access"
	"kavach/audit"
	"kavach/node"
	"kavach/registration"
	"kavach/report"
	"kavach/web"
)

func (h *handlers) apiCatalogue(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	ts, err := Catalogue(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []CatalogueTest{}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"tests": ts})
}

func (h *handlers) apiSpecifyTest(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in TestSpec
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	if err := h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error { return SpecifyTest(tx, in) }); err != nil {
		return err
	}
	t, err := GetTest(r.Context(), h.n.DB(), strings.ToUpper(strings.TrimSpace(in.Code)))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, t)
}

func (h *handlers) apiDefineAnalyte(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in Analyte
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	if err := h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error { return DefineAnalyte(tx, in) }); err != nil {
		return err
	}
	a, err := GetAnalyte(r.Context(), h.n.DB(), strings.ToUpper(strings.TrimSpace(in.Code)))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, a)
}

func (h *handlers) apiOrder(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in NewOrder
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusCreated, func(tx *node.Tx) (*Order, error) {
		return PlaceOrder(tx, in, sess.Can(Prescribe))
	})
}

func (h *handlers) apiGetOrder(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	o, err := GetOrder(r.Context(), h.n.DB(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.lab_order", o.UHID); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, o)
}

func (h *handlers) apiCancel(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusOK, func(tx *node.Tx) (*Order, error) {
		return CancelOrder(tx, r.PathValue("id"), in.Reason)
	})
}

func (h *handlers) apiCollect(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct{}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusCreated, func(tx *node.Tx) (*Collected, error) {
		return Collect(tx, r.PathValue("id"))
	})
}

// seen hides a sample's results from a user who may see only where it
// stands (a registration clerk), and audits the read of those who see them.
func (h *handlers) seen(r *http.Request, sess *access.Session, action string, ss ...*Sample) error {
	if !sess.Can(SeeResults) {
		for _, s := range ss {
			s.Results = []Result{}
		}
		return nil
	}
	var uhids []string
	for _, s := range ss {
		uhids = append(uhids, s.UHID)
	}
	return audit.Viewed(r.Context(), h.n, sess.User.Username, action, uhids...)
}

func (h *handlers) apiSample(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	s, err := GetSample(r.Context(), h.n.DB(), r.PathValue("accession"))
	if err != nil {
		return err
	}
	if err := h.seen(r, sess, "api.sample", s); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, s)
}

func (h *handlers) apiPatientLab(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	ctx := r.Context()
	p, err := registration.Resolve(ctx, h.n.DB(), r.PathValue("uhid"))
	if err != nil {
		return err
	}
	family, err := registration.Family(ctx, h.n.DB(), p.UHID)
	if err != nil {
		return err
	}
	os, err := PatientOrders(ctx, h.n.DB(), family...)
	if err != nil {
		return err
	}
	ss, err := PatientSamples(ctx, h.n.DB(), family...)
	if err != nil {
		return err
	}
	ptrs := make([]*Sample, len(ss))
	for i := range ss {
		ptrs[i] = &ss[i]
	}
	if err := h.seen(r, sess, "api.patient_lab", ptrs...); err != nil {
		return err
	}
	if ss == nil {
		ss = []Sample{}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"uhid": p.UHID, "orders": os, "samples": ss})
}

// Label is what a sample's label shows.
func (h *handlers) label(r *http.Request, typed string) (*report.Label, *Sample, error) {
	s, err := GetSample(r.Context(), h.n.DB(), typed)
	if err != nil {
		return nil, nil, err
	}
	p, err := registration.Get(r.Context(), h.n.DB(), s.UHID)
	if err != nil {
		return nil, nil, err
	}
	return &report.Label{Accession: s.Accession, UHID: s.UHID, Name: p.Name, NameHi: p.NameHi, AgeSex: s.Age + " / " + s.Sex, Container: s.Container,
		Tests: s.Tests, Collected: hospitalTime(s.Collected), Urgent: s.Priority == "urgent"}, s, nil
}

func writePDF(w http.ResponseWriter, name string, b []byte) error {
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s"`, name))
	_, err := w.Write(b)
	return err
}

// labelPDF sends a sample's label, for the API and the pages alike.
func (h *handlers) labelPDF(w http.ResponseWriter, r *http.Request, user, action string) error {
	l, s, err := h.label(r, r.PathValue("accession"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.LabelPDF(&buf, *l); err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, user, action, s.UHID); err != nil {
		return err
	}
	return writePDF(w, "label-"+s.Accession+".pdf", buf.Bytes())
}

func (h *handlers) apiLabel(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	return h.labelPDF(w, r, sess.User.Username, "api.label")
}

// change runs a command on a sample and answers with the sample.
func (h *handlers) change(w http.ResponseWriter, r *http.Request, sess *access.Session, cmd func(tx *node.Tx) (*Sample, error)) error {
	var s *Sample
	err := h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		var err error
		s, err = cmd(tx)
		return err
	})
	if err != nil {
		return err
	}
	if err := h.seen(r, sess, "api.sample", s); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, s)
}

func (h *handlers) apiReceive(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct{}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return h.change(w, r, sess, func(tx *node.Tx) (*Sample, error) { return Receive(tx, r.PathValue("accession")) })
}

func (h *handlers) apiReject(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return h.change(w, r, sess, func(tx *node.Tx) (*Sample, error) { return Reject(tx, r.PathValue("accession"), in.Reason, in.Note) })
}

func (h *handlers) apiResults(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in Entry
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return h.change(w, r, sess, func(tx *node.Tx) (*Sample, error) {
		s, _, err := AddResults(tx, r.PathValue("accession"), in)
		return s, err
	})
}

func (h *handlers) apiVerify(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct{}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return h.change(w, r, sess, func(tx *node.Tx) (*Sample, error) {
		s, _, err := Verify(tx, r.PathValue("accession"), verifierName(sess))
		return s, err
	})
}

// verifierName is how a report names the pathologist who verified it.
func verifierName(sess *access.Session) string {
	if n := strings.TrimSpace(sess.User.FullName); n != "" {
		return n
	}
	return sess.User.Username
}

func (h *handlers) apiCall(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in Call
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return h.change(w, r, sess, func(tx *node.Tx) (*Sample, error) { return RecordCall(tx, r.PathValue("accession"), in) })
}

func (h *handlers) apiReports(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	s, err := GetSample(r.Context(), h.n.DB(), r.PathValue("accession"))
	if err != nil {
		return err
	}
	rs, err := Reports(r.Context(), h.n.DB(), s.Accession)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.reports", s.UHID); err != nil {
		return err
	}
	if rs == nil {
		rs = []StoredReport{}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"accession": s.Accession, "reports": rs})
}

// reportVersion reads ?version=N (0, the default, is the current one).
func reportVersion(r *http.Request) (int, error) {
	v := r.URL.Query().Get("version")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, &kavach.Error{Code: kavach.EINVALID, Message: "Bad report version.", Fields: map[string]string{"version": "must be a version number, 1 or more"}}
	}
	return n, nil
}

func (h *handlers) reportPDF(w http.ResponseWriter, r *http.Request, user, action string) error {
	version, err := reportVersion(r)
	if err != nil {
		return err
	}
	acc, err := ParseAccession(r.PathValue("accession"))
	if err != nil {
		return err
	}
	pr, err := Prove(r.Context(), h.n, acc, version)
	if err != nil {
		return err
	}
	b, err := pr.PDF(h.rt.BaseURL(r))
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, user, action, pr.Released.Report.UHID); err != nil {
		return err
	}
	return writePDF(w, fmt.Sprintf("report-%s-v%d.pdf", acc, pr.Released.Version), b)
}

func (h *handlers) apiReportPDF(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	return h.reportPDF(w, r, sess.User.Username, "api.report")
}

func (h *handlers) apiWorklist(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	section := strings.ToUpper(r.PathValue("section"))
	if _, ok := Sections[section]; !ok {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No lab section " + section + "."}
	}
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Bad limit.", Fields: map[string]string{"limit": "must be 1 to 1000"}}
		}
		limit = n
	}
	items, total, err := Worklist(r.Context(), h.n.DB(), section, limit)
	if err != nil {
		return err
	}
	var uhids []string
	for _, it := range items {
		uhids = append(uhids, it.UHID)
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.worklist", uhids...); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"section": section, "pending": total, "samples": items})
}

func (h *handlers) apiCriticals(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	cs, err := Criticals(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	var uhids []string
	for _, c := range cs {
		uhids = append(uhids, c.UHID)
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.criticals", uhids...); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"critical_values": cs})
}

// publicReport finds the report a QR code names, or 404.
func (h *handlers) publicReport(r *http.Request) (*StoredReport, error) {
	origin := r.PathValue("origin")
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	hash := strings.ToLower(r.PathValue("hash"))
	if err != nil || len(hash) != 64 || len(origin) != 2 || strings.Trim(hash, "0123456789abcdef") != "" {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No report released here matches this code."}
	}
	return ReportByHash(r.Context(), h.n.DB(), origin, index, hash)
}

func (h *handlers) apiPublicProof(w http.ResponseWriter, r *http.Request) error {
	sr, err := h.publicReport(r)
	if err != nil {
		return err
	}
	p, err := h.n.ProveEvent(r.Context(), sr.Origin, sr.Index)
	if err != nil {
		return err
	}
	out := PublicProof{Accession: sr.Accession, Version: sr.Version, Latest: sr.Latest, Current: sr.Current, SupersededAt: sr.SupersededAt,
		Reason: sr.Reason, Checkpoint: string(p.Checkpoint), Key: p.Key, Inclusion: p.Proof, Consistency: [][]byte{}}
	if v := r.URL.Query().Get("from"); v != "" {
		from, err := strconv.ParseUint(v, 10, 64)
		if err != nil || from == 0 || from > p.Size || from <= sr.Index {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Bad checkpoint size.", Fields: map[string]string{"from": fmt.Sprintf("must be a size from %d to %d", sr.Index+1, p.Size)}}
		}
		out.From = from
		if out.Consistency, err = h.n.ProveConsistency(r.Context(), sr.Origin, from, p.Size); err != nil {
			return err
		}
	}
	rel, err := releaseOf(p)
	if err != nil {
		return err
	}
	// Whoever holds the report's code reads what the report holds.
	if err := audit.Viewed(r.Context(), h.n, "public", "public.report_proof", rel.Report.UHID); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}
