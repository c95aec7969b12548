package registration

import (
	"net/http"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// pageMergeSave folds this record into another (the one that survives) and
// shows the survivor. A refused merge brings the patient page back with
// the reason next to the form.
func (h *handlers) pageMergeSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	form := map[string]string{"into": r.PostFormValue("into"), "reason": r.PostFormValue("reason")}
	from, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	into, err := ParseUHID(form["into"])
	if err == nil {
		var merged bool
		err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) (err error) {
			merged, err = MergeInto(tx, Merge{From: from, Into: into, Reason: form["reason"]}, v.Sess.Can(MergePatients))
			return err
		})
		if err == nil && !merged {
			return web.Redirect(w, r, "/patients/"+from)
		}
	} else {
		err = &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: map[string]string{"into": kavach.ErrorMessage(err)}}
	}
	if err != nil {
		code := kavach.ErrorCode(err)
		if code == kavach.EINTERNAL {
			return err
		}
		return h.renderPatient(w, r, v, web.Status(code), form, web.FieldErrors(v, err), v.T(kavach.ErrorMessage(err)))
	}
	return web.Redirect(w, r, "/patients/"+into)
}

// pageUnmergeSave undoes a merge and shows the record, its own again.
func (h *handlers) pageUnmergeSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	from, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		_, err := Unmerge(tx, from, r.PostFormValue("reason"))
		return err
	})
	if err != nil {
		if code := kavach.ErrorCode(err); code != kavach.EINTERNAL {
			return h.renderPatient(w, r, v, web.Status(code), nil, nil, v.T(kavach.ErrorMessage(err)))
		}
		return err
	}
	return web.Redirect(w, r, "/patients/"+from)
}
