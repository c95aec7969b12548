package web

import (
	"net/http"

	"kavach"
	"kavach/node"
	"kavach/registration"
)

// pageMergeSave folds this record into another (the one that survives) and
// shows the survivor. A refused merge brings the patient page back with
// the reason next to the form.
func (s *Server) pageMergeSave(w http.ResponseWriter, r *http.Request, v *view) error {
	form := map[string]string{"into": r.PostFormValue("into"), "reason": r.PostFormValue("reason")}
	from, err := registration.ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	into, err := registration.ParseUHID(form["into"])
	if err == nil {
		err = s.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
			return registration.MergeInto(tx, registration.Merge{From: from, Into: into, Reason: form["reason"]})
		})
	} else {
		err = &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"into": kavach.ErrorMessage(err)}}
	}
	if err != nil {
		code := kavach.ErrorCode(err)
		if code == kavach.EINTERNAL {
			return err
		}
		return s.renderPatient(w, r, v, Status(code), form, fieldErrors(v, err), v.T(kavach.ErrorMessage(err)))
	}
	return redirect(w, r, "/patients/"+into)
}
