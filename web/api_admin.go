package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"kavach"
	"kavach/audit"
	"kavach/auth"
	"kavach/journal"
	"kavach/registration"
)

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	us, err := auth.Users(r.Context(), s.n.DB())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

func (s *Server) apiAddUser(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	var in struct {
		Username string    `json:"username"`
		FullName string    `json:"full_name"`
		Role     auth.Role `json:"role"`
		Password string    `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u := auth.NewUser{Username: in.Username, FullName: in.FullName, Role: in.Role, Password: in.Password}
	if err := s.auth.AddUser(r.Context(), sess.User.Username, u); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"username": u.Username, "role": u.Role})
}

func (s *Server) apiDisableUser(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.auth.SetDisabled(r.Context(), sess.User.Username, r.PathValue("username"), true); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"username": r.PathValue("username"), "disabled": true})
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	q := audit.Query{User: r.URL.Query().Get("user")}
	if p := r.URL.Query().Get("patient"); p != "" {
		uhid, err := registration.ParseUHID(p)
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
	es, err := audit.Entries(r.Context(), s.n.DB(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": es})
}

func (s *Server) apiCheckpoint(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	cp, err := journal.LatestCheckpointUpTo(r.Context(), s.n.DB(), s.n.Status().Events)
	if errors.Is(err, journal.ErrNotFound) {
		return kavach.Errorf(kavach.ENOTFOUND, "No checkpoint has been signed yet.")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write(cp.Note)
	return err
}

func queryUint(r *http.Request, name string) (uint64, error) {
	v, err := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
	if err != nil {
		return 0, &kavach.Error{Code: kavach.EINVALID, Message: "Bad " + name + ".", Fields: map[string]string{name: "must be a whole number"}}
	}
	return v, nil
}

// committedSize bounds proofs to what is committed and checkpointed.
func (s *Server) checkSize(size uint64) error {
	if st := s.n.Status(); size > st.Events || size == 0 {
		return &kavach.Error{Code: kavach.EINVALID, Message: "No tree of that size.", Fields: map[string]string{"size": "must be 1 to the journal's size"}}
	}
	return nil
}

func (s *Server) apiInclusionProof(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	index, err := queryUint(r, "index")
	if err != nil {
		return err
	}
	size, err := queryUint(r, "size")
	if err != nil {
		return err
	}
	if err := s.checkSize(size); err != nil {
		return err
	}
	if index >= size {
		return &kavach.Error{Code: kavach.EINVALID, Message: "Index beyond size.", Fields: map[string]string{"index": "must be less than size"}}
	}
	p, err := journal.InclusionProof(r.Context(), s.n.DB(), index, size)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"index": index, "size": size, "proof": p})
}

func (s *Server) apiConsistencyProof(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	from, err := queryUint(r, "from")
	if err != nil {
		return err
	}
	to, err := queryUint(r, "to")
	if err != nil {
		return err
	}
	if err := s.checkSize(to); err != nil {
		return err
	}
	if from > to {
		return &kavach.Error{Code: kavach.EINVALID, Message: "from is after to.", Fields: map[string]string{"from": "must not exceed to"}}
	}
	p, err := journal.ConsistencyProof(r.Context(), s.n.DB(), from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "proof": p})
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	st := s.n.Status()
	vaults, err := s.n.Vaults(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"vaults":   vaults,
		"hospital": st.Info.HospitalName, "hospital_code": st.Info.HospitalCode, "node": st.Info.NodeCode,
		"origin": st.Info.Origin, "verifier": st.Info.Verifier, "events": st.Events,
		"checkpoint_size": st.CheckpointSize, "checkpoint_time": st.CheckpointTime,
		"seconds_since_checkpoint": time.Since(st.CheckpointTime).Seconds(),
	})
}
