package opd

import (
	"net/http"

	"kavach"
	"kavach/access"
	"kavach/audit"
	"kavach/registration"
	"kavach/web"
)

// apiHistory is the patient's history for the API: what happened to the
// record (registration's) and the visits (the OPD's), those of the records
// merged into it included, each naming its UHID.
func (h *handlers) apiHistory(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	p, err := registration.Resolve(r.Context(), h.n.DB(), r.PathValue("uhid"))
	if err != nil {
		if kavach.ErrorCode(err) == kavach.EINVALID {
			// As for the record itself: a mistyped UHID names no patient.
			return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
		}
		return err
	}
	hs, err := registration.History(r.Context(), h.n.DB(), p.UHID)
	if err != nil {
		return err
	}
	family, err := registration.Family(r.Context(), h.n.DB(), p.UHID)
	if err != nil {
		return err
	}
	vs, err := PatientVisits(r.Context(), h.n.DB(), family...)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.history", family...); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"uhid": p.UHID, "history": hs, "visits": vs})
}
