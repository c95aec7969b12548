package audit

import (
	"net/http"
	"strconv"
	"strings"

	"kavach"
	"kavach/access"
	"kavach/idcode"
	"kavach/web"
)

func (h *handlers) apiAudit(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	q := Query{User: strings.ToLower(strings.TrimSpace(r.URL.Query().Get("user")))}
	if p := r.URL.Query().Get("patient"); p != "" {
		uhid, err := idcode.UHID(p)
		if err != nil {
			return &kavach.Error{Code: kavach.EINVALID, Message: kavach.ErrorMessage(err), Fields: map[string]string{"patient": "not a valid UHID"}}
		}
		q.Patient = uhid
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Limit must be 1 to 1000.", Fields: map[string]string{"limit": "must be 1 to 1000"}}
		}
		q.Limit = n
	}
	es, err := Entries(r.Context(), h.n.DB(), q)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"entries": es})
}
