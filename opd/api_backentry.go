package opd

import (
	"net/http"
	"time"

	"kavach"
	"kavach/access"
	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// backEntryJSON is POST /api/v1/back-entries: a registration's fields, the
// sheet's UHID and department, and when the patient was seen (the
// hospital's time, YYYY-MM-DDTHH:MM).
type backEntryJSON struct {
	registration.NewPatient
	UHID       string `json:"uhid"`
	Department string `json:"department"`
	SeenAt     string `json:"seen_at"`
	PaperToken string `json:"paper_token"`
}

// parseSeen reads the hospital's local "YYYY-MM-DDTHH:MM".
func parseSeen(s string) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02T15:04", s, kavach.Zone)
	return t, err == nil
}

func (h *handlers) apiBackEntry(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in backEntryJSON
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	seen, ok := parseSeen(in.SeenAt)
	if !ok && in.SeenAt != "" {
		return &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"seen_at": "must be the hospital's date and time, YYYY-MM-DDTHH:MM"}}
	}
	p, err := in.NewPatient.Validate(h.n.Now().In(kavach.Zone))
	if err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusCreated, func(tx *node.Tx) (*Visit, error) {
		return EnterSheet(tx, p, Sheet{UHID: in.UHID, Department: in.Department, SeenAt: seen, PaperToken: in.PaperToken})
	})
}
