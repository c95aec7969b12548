package registration

import (
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/node"
	"kavach/web"
)

// mergeSide is one of the two records of a merge, as the confirmation
// shows it.
type mergeSide struct {
	P      *Patient
	Age    string
	Panels []web.ShownPanel // other services' lines: the OPD's visits count
}

// mergeConfirmPage is the data of the page that asks to confirm a merge.
type mergeConfirmPage struct {
	*web.View
	From, Into mergeSide
	Reason     string
}

// Sides are the two records, the merged one first.
func (p *mergeConfirmPage) Sides() []*Patient { return []*Patient{p.From.P, p.Into.P} }

// pageMergeSave folds this record into another (the one that survives) and
// shows the survivor. The form's first POST only shows both records side
// by side and asks to confirm; the confirmed POST (confirm=1) merges. A
// refused merge brings the patient page back with the reason next to the
// form.
func (h *handlers) pageMergeSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	form := map[string]string{"into": r.PostFormValue("into"), "reason": r.PostFormValue("reason")}
	from, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	into, err := ParseUHID(form["into"])
	if err == nil && r.PostFormValue("confirm") != "1" {
		var pf, pi *Patient
		if pf, pi, err = CheckMerge(r.Context(), h.n.DB(), Merge{From: from, Into: into, Reason: form["reason"]}); err == nil {
			return h.renderMergeConfirm(w, r, v, pf, pi, form["reason"])
		}
	} else if err == nil {
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

// renderMergeConfirm shows the two records of a merge side by side with
// the buttons that confirm it and cancel it.
func (h *handlers) renderMergeConfirm(w http.ResponseWriter, r *http.Request, v *web.View, from, into *Patient, reason string) error {
	ctx := r.Context()
	today := h.n.Now().In(kavach.Zone)
	page := &mergeConfirmPage{View: v, Reason: reason,
		From: mergeSide{P: from, Age: from.AgeText(today)}, Into: mergeSide{P: into, Age: into.AgeText(today)}}
	for _, s := range []*mergeSide{&page.From, &page.Into} {
		var err error
		if s.Panels, err = v.Panels(ctx, "merge_confirm", s.P.UHID); err != nil {
			return err
		}
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.merge_confirm", from.UHID, into.UHID); err != nil {
		return err
	}
	v.Title = v.T("Confirm the merge")
	return v.Render(w, http.StatusOK, "merge_confirm", page)
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
