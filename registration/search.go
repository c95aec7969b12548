package registration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"kavach"

	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// Candidate is an existing patient who may be the one being registered.
type Candidate struct {
	Patient
	Reasons []string `json:"reasons"` // "same mobile", "similar name and age"
}

// DuplicateQuery describes the patient being registered.
type DuplicateQuery struct {
	Today       time.Time // the hospital's clock, for an age in years
	Name        string
	Mobile      string
	ABHA        string // the same ABHA number is the same person, whatever the name
	DateOfBirth string // exact or estimated; empty if unknown
	AgeYears    *int   // used when DateOfBirth is empty
}

// ageSlack is how far apart two ages may be and still be the same person:
// an age typed at a counter is often a guess.
const ageSlack = 3

// maxCandidates bounds the warning list; a clerk reads no more.
const maxCandidates = 10

// FindDuplicates returns likely duplicates: the same mobile number, or a
// similar name (by NameKey) with a compatible age.
func FindDuplicates(ctx context.Context, db journal.DBTX, q DuplicateQuery) ([]Candidate, error) {
	// One statement with a part per reason, in the order the reasons are
	// shown: the same ABHA number, the same mobile, a similar name.
	var parts []string
	var args []any
	part := func(reason, where string, a ...any) {
		parts = append(parts, `SELECT * FROM (SELECT '`+reason+`', `+cols+` FROM patients WHERE `+where+` ORDER BY merged_into != '' LIMIT ?)`)
		args = append(append(args, a...), maxCandidates)
	}
	if a := strings.NewReplacer("-", "", " ", "").Replace(q.ABHA); len(a) == 14 && isDigits(a) {
		part("same ABHA number", `abha = ? AND abha != ''`, a)
	}
	if m := NormalizeMobile(q.Mobile); mobileRE.MatchString(m) {
		part("same mobile", `mobile = ?`, m)
	}
	if key := NameKey(q.Name); key != "" {
		dob := q.DateOfBirth
		if dob == "" && q.AgeYears != nil {
			dob = q.Today.In(kavach.Zone).AddDate(-*q.AgeYears, 0, 0).Format("2006-01-02")
		}
		if t, err := time.Parse("2006-01-02", dob); err == nil {
			lo, hi := t.AddDate(-ageSlack, 0, 0).Format("2006-01-02"), t.AddDate(ageSlack, 0, 0).Format("2006-01-02")
			part("similar name and age", `name_key = ? AND dob BETWEEN ? AND ?`, key, lo, hi)
		} else {
			part("similar name", `name_key = ?`, key)
		}
	}
	if len(parts) == 0 {
		return []Candidate{}, nil
	}
	rows, err := db.QueryContext(ctx, strings.Join(parts, ` UNION ALL `), args...)
	if err != nil {
		return nil, fmt.Errorf("registration: duplicates: %w", err)
	}
	defer rows.Close()
	type match struct {
		reason string
		p      Patient
	}
	var ms []match
	for rows.Next() {
		var m match
		p := &m.p
		err := rows.Scan(&m.reason, &p.UHID, &p.Name, &p.NameHi, &p.Sex, &p.DateOfBirth, &p.DOBActual, &p.Mobile, &p.Address,
			&p.City, &p.District, &p.State, &p.PIN, &p.GuardianRelation, &p.GuardianName, &p.Category, &p.CategoryID,
			&p.ABHA, &p.Registered, &p.RegisteredBy, &p.MergedInto)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registration: duplicates: %w", err)
	}
	rows.Close()
	var out []Candidate
	for _, m := range ms {
		p := m.p
		// A merged record's mobile or name is its survivor's too.
		if p.MergedInto != "" {
			sp, err := Survivor(ctx, db, &p)
			if err != nil {
				return nil, fmt.Errorf("registration: duplicates: %w", err)
			}
			p = *sp
		}
		seen := false
		for i := range out {
			if out[i].UHID == p.UHID {
				if !slices.Contains(out[i].Reasons, m.reason) {
					out[i].Reasons = append(out[i].Reasons, m.reason)
				}
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, Candidate{Patient: p, Reasons: []string{m.reason}})
		}
	}
	if len(out) > maxCandidates {
		out = out[:maxCandidates]
	}
	if out == nil {
		out = []Candidate{}
	}
	return out, nil
}

// A search's bounds: a name has a few words, and each word is a condition.
const (
	maxSearch      = 100
	maxSearchWords = 8
)

// Search finds patients by UHID, mobile number, ABHA number or the start of
// words of the name ("ram kum" finds Ramesh Kumar). Merged records lead to the
// record they were merged into, listed once.
func Search(ctx context.Context, db journal.DBTX, text string, limit int) ([]Patient, error) {
	fs, err := SearchFound(ctx, db, text, limit)
	if err != nil {
		return nil, err
	}
	ps := make([]Patient, len(fs))
	for i := range fs {
		ps[i] = fs[i].Patient
	}
	return ps, nil
}

// Found is a record a search found: a surviving record, with the merged
// records through which it was found (their mobile, name or UHID matched).
type Found struct {
	Patient
	MergedFrom []string
}

// SearchFound is Search noting, for each record, the merged records that
// led to it.
func SearchFound(ctx context.Context, db journal.DBTX, text string, limit int) ([]Found, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return []Found{}, nil
	}
	if len(text) > maxSearch || len(strings.Fields(text)) > maxSearchWords {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Type less: a UHID, a mobile number or a few words of the name.",
			Fields: map[string]string{"q": "at most 8 words and 100 characters"}}
	}
	var rows interface {
		Next() bool
		Scan(...any) error
		Close() error
		Err() error
	}
	var err error
	norm := idcode.Normalize(text)
	digits := strings.NewReplacer("-", "", " ", "").Replace(text)
	switch {
	case len(norm) >= 10 && len(norm) <= 12 && isLetter(norm[0]) && isLetter(norm[1]) && isDigits(norm[2:len(norm)-1]):
		p, err := Get(ctx, db, norm)
		if err != nil {
			return []Found{}, nil
		}
		return foundOf(ctx, db, []*Patient{p})
	case mobileRE.MatchString(NormalizeMobile(text)):
		rows, err = db.QueryContext(ctx, `SELECT `+cols+` FROM patients WHERE mobile = ? ORDER BY merged_into != '', registered DESC LIMIT ?`, NormalizeMobile(text), limit)
	case len(digits) == 14 && isDigits(digits):
		rows, err = db.QueryContext(ctx, `SELECT `+cols+` FROM patients WHERE abha = ? AND abha != '' ORDER BY merged_into != '' LIMIT ?`, digits, limit)
	default:
		words := strings.Fields(strings.ToLower(text))
		longest := ""
		for _, w := range words {
			if len(w) > len(longest) {
				longest = w
			}
		}
		q := `SELECT ` + node.Qualify("p.", cols) + ` FROM patient_words w JOIN patients p ON p.uhid = w.uhid
			WHERE w.word >= ? AND w.word < ?`
		args := []any{longest, longest + "\U0010FFFF"}
		for _, w := range words {
			if w == longest {
				continue
			}
			q += ` AND (' ' || lower(p.name)) LIKE ? ESCAPE '\'`
			args = append(args, "% "+escapeLike(w)+"%")
		}
		q += ` ORDER BY p.merged_into != '' LIMIT ?`
		args = append(args, limit)
		rows, err = db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("registration: search: %w", err)
	}
	defer rows.Close()
	var ps []*Patient
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registration: search: %w", err)
	}
	rows.Close()
	return foundOf(ctx, db, ps)
}

// foundOf turns the records a search matched into the records it shows: a
// merged record's survivor in its place, each survivor once.
func foundOf(ctx context.Context, db journal.DBTX, ps []*Patient) ([]Found, error) {
	out := []Found{}
	at := map[string]int{}
	for _, p := range ps {
		s, err := Survivor(ctx, db, p)
		if err != nil {
			return nil, fmt.Errorf("registration: search: %w", err)
		}
		i, ok := at[s.UHID]
		if !ok {
			i = len(out)
			at[s.UHID] = i
			out = append(out, Found{Patient: *s})
		}
		if s.UHID != p.UHID && !slices.Contains(out[i].MergedFrom, p.UHID) {
			out[i].MergedFrom = append(out[i].MergedFrom, p.UHID)
		}
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func isLetter(b byte) bool { return b >= 'A' && b <= 'Z' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
