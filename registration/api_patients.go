package registration

import (
	"net/http"
	"strconv"
	"time"

	"kavach"
	"kavach/access"
	"kavach/audit"
	"kavach/node"
	"kavach/web"
)

// patientJSON is a patient as the API shows it.
type patientJSON struct {
	ABHA             string `json:"abha_number,omitempty"` // as XX-XXXX-XXXX-XXXX
	Address          string `json:"address"`
	AgeMonths        int    `json:"age_months"`
	AgeYears         int    `json:"age_years"`
	Category         string `json:"category"`
	CategoryID       string `json:"category_id,omitempty"`
	City             string `json:"city,omitempty"`
	DateOfBirth      string `json:"date_of_birth"`
	District         string `json:"district,omitempty"`
	DOBActual        bool   `json:"dob_actual"`
	GuardianName     string `json:"guardian_name"`
	GuardianRelation string `json:"guardian_relation,omitempty"`
	MergedInto       string `json:"merged_into,omitempty"`
	Mobile           string `json:"mobile"`
	Name             string `json:"name"`
	NameHi           string `json:"name_hi,omitempty"`
	PIN              string `json:"pin,omitempty"`
	Registered       string `json:"registered_at"`
	RegisteredBy     string `json:"registered_by"`
	Sex              string `json:"sex"`
	State            string `json:"state,omitempty"`
	UHID             string `json:"uhid"`
}

func toJSON(p *Patient, now time.Time) patientJSON {
	y, m := p.Age(now.In(kavach.Zone))
	return patientJSON{
		ABHA: ABHADisplay(p.ABHA), Address: p.Address, AgeMonths: m, AgeYears: y, Category: p.Category,
		CategoryID: p.CategoryID, City: p.City, DateOfBirth: p.DateOfBirth, District: p.District, DOBActual: p.DOBActual,
		GuardianName: p.GuardianName, GuardianRelation: p.GuardianRelation, MergedInto: p.MergedInto, Mobile: p.Mobile,
		Name: p.Name, NameHi: p.NameHi, PIN: p.PIN, Registered: p.Registered, RegisteredBy: p.RegisteredBy, Sex: p.Sex,
		State: p.State, UHID: p.UHID,
	}
}

func (h *handlers) apiRegister(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in NewPatient
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	p, dups, err := Check(r.Context(), h.n.DB(), &in, h.n.Now())
	if err != nil {
		return err
	}
	var reg *Registration
	err = h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		var err error
		reg, err = RegisterChecked(tx, p, dups)
		return err
	})
	if err != nil {
		return err
	}
	shown := make([]patientJSON, len(reg.Duplicates))
	for i := range reg.Duplicates {
		shown[i] = toJSON(&reg.Duplicates[i].Patient, h.n.Now())
	}
	return web.WriteJSON(w, http.StatusCreated, struct {
		patientJSON
		Duplicates []patientJSON `json:"possible_duplicates"`
	}{toJSON(reg.Patient, h.n.Now()), shown})
}

func (h *handlers) apiDuplicates(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	q := r.URL.Query()
	dq := DuplicateQuery{Today: h.n.Now(), Name: q.Get("name"), Mobile: q.Get("mobile"), ABHA: q.Get("abha_number"), DateOfBirth: q.Get("date_of_birth")}
	if a := q.Get("age_years"); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 || n > 130 {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Age must be a whole number of years.", Fields: map[string]string{"age_years": "must be 0 to 130"}}
		}
		dq.AgeYears = &n
	}
	if dq.Name == "" && dq.Mobile == "" && dq.ABHA == "" {
		return &kavach.Error{Code: kavach.EINVALID, Message: "Give a name, a mobile number or an ABHA number.", Fields: map[string]string{"name": "name, mobile or abha_number is required"}}
	}
	cands, err := FindDuplicates(r.Context(), h.n.DB(), dq)
	if err != nil {
		return err
	}
	out := make([]any, len(cands))
	uhids := make([]string, len(cands))
	for i := range cands {
		out[i] = struct {
			patientJSON
			Reasons []string `json:"reasons"`
		}{toJSON(&cands[i].Patient, h.n.Now()), cands[i].Reasons}
		uhids[i] = cands[i].UHID
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.duplicates", uhids...); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"candidates": out})
}

func (h *handlers) apiPatient(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	p, err := Resolve(r.Context(), h.n.DB(), r.PathValue("uhid"))
	if err != nil {
		if kavach.ErrorCode(err) == kavach.EINVALID {
			// A mistyped UHID names no patient.
			return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
		}
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.patient", p.UHID); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toJSON(p, h.n.Now()))
}

func (h *handlers) apiSearch(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	q := r.URL.Query().Get("q")
	if q == "" {
		return &kavach.Error{Code: kavach.EINVALID, Message: "Type a UHID, mobile number or name to search.", Fields: map[string]string{"q": "search text is required"}}
	}
	ps, err := Search(r.Context(), h.n.DB(), q, 50)
	if err != nil {
		return err
	}
	out := make([]patientJSON, len(ps))
	uhids := make([]string, len(ps))
	for i := range ps {
		out[i] = toJSON(&ps[i], h.n.Now())
		uhids[i] = ps[i].UHID
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.search", uhids...); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"patients": out})
}

func (h *handlers) apiAmend(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Changes map[string]string `json:"changes"`
		Reason  string            `json:"reason"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	uhid, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return err
	}
	var p *Patient
	err = h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		p, err = Amend(tx, Amendment{UHID: uhid, Changes: in.Changes, Reason: in.Reason})
		return err
	})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toJSON(p, h.n.Now()))
}

func (h *handlers) apiMerge(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Into   string `json:"into"`
		Reason string `json:"reason"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	from, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return err
	}
	into, err := ParseUHID(in.Into)
	if err != nil {
		return &kavach.Error{Code: kavach.EINVALID, Message: kavach.ErrorMessage(err), Fields: map[string]string{"into": "not a valid UHID"}}
	}
	var merged bool
	err = h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) (err error) {
		merged, err = MergeInto(tx, Merge{From: from, Into: into, Reason: in.Reason}, sess.Can(MergePatients))
		return err
	})
	if err != nil {
		return err
	}
	if !merged {
		// The first of the two people a merge takes: it waits for the second.
		return web.WriteJSON(w, http.StatusAccepted, map[string]any{"merged": false, "pending": true, "from": from, "into": into,
			"message": "The merge waits for a second person (or a medical records officer) to confirm it."})
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"merged": from, "into": into})
}

// apiUnmerge undoes a merge.
func (h *handlers) apiUnmerge(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	from, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return err
	}
	var p *Patient
	err = h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) (err error) {
		p, err = Unmerge(tx, from, in.Reason)
		return err
	})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toJSON(p, h.n.Now()))
}
