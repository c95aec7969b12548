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

// apiEntry is an entry of the API: the action's code and its words.
type apiEntry struct {
	Entry
	ActionText string `json:"action_text"`
}

func (h *handlers) apiAudit(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	rq := r.URL.Query()
	q := Query{User: strings.ToLower(strings.TrimSpace(rq.Get("user")))}
	if p := rq.Get("patient"); p != "" {
		uhid, err := idcode.UHID(p)
		if err != nil {
			return &kavach.Error{Code: kavach.EINVALID, Message: kavach.ErrorMessage(err), Fields: map[string]string{"patient": "not a valid UHID"}}
		}
		q.Patient = uhid
	}
	if l := rq.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Limit must be 1 to 1000.", Fields: map[string]string{"limit": "must be 1 to 1000"}}
		}
		q.Limit = n
	}
	var errs map[string]string
	q.From, q.To, errs = parseDays(rq.Get("from"), rq.Get("to"))
	if errs != nil {
		msg := errs[fieldFromKey]
		if msg == "" {
			msg = errs[fieldToKey]
		}
		return &kavach.Error{Code: kavach.EINVALID, Message: msg, Fields: errs}
	}
	es, err := Entries(r.Context(), h.n.DB(), q)
	if err != nil {
		return err
	}
	out := make([]apiEntry, len(es))
	for i, e := range es {
		out[i] = apiEntry{Entry: e, ActionText: ActionText(e.Action)}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
}
