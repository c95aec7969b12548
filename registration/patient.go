// Package registration is the registration counter: patients, their UHIDs,
// validation of what the clerk types, likely-duplicate warnings, search,
// amendments and merges.
package registration

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"kavach"
	"kavach/idcode"
)

// Sexes a patient may be registered with.
var Sexes = map[string]string{"M": "Male", "F": "Female", "O": "Other"}

// Categories decide fees and waivers.
var Categories = []struct{ Code, Label, LabelHi string }{
	{"general", "General", "सामान्य"},
	{"bpl", "BPL / exempt", "बीपीएल / छूट"},
	{"senior", "Senior citizen", "वरिष्ठ नागरिक"},
	{"staff", "Staff", "कर्मचारी"},
	{"scheme", "Scheme beneficiary", "योजना लाभार्थी"},
}

// Relations name how the guardian or relative is related to the patient.
var Relations = []struct{ Code, Label, Prefix string }{
	{"father", "Father", "S/O or D/O"},
	{"husband", "Husband", "W/O"},
	{"mother", "Mother", "B/O"},
	{"wife", "Wife", "H/O"},
	{"guardian", "Guardian", "C/O"},
}

// States are India's states and union territories.
var States = []string{
	"Andaman and Nicobar Islands", "Andhra Pradesh", "Arunachal Pradesh", "Assam", "Bihar", "Chandigarh",
	"Chhattisgarh", "Dadra and Nagar Haveli and Daman and Diu", "Delhi", "Goa", "Gujarat", "Haryana",
	"Himachal Pradesh", "Jammu and Kashmir", "Jharkhand", "Karnataka", "Kerala", "Ladakh", "Lakshadweep",
	"Madhya Pradesh", "Maharashtra", "Manipur", "Meghalaya", "Mizoram", "Nagaland", "Odisha", "Puducherry",
	"Punjab", "Rajasthan", "Sikkim", "Tamil Nadu", "Telangana", "Tripura", "Uttar Pradesh", "Uttarakhand",
	"West Bengal",
}

// stateAliases maps the codes that counters type for a state (those of ISO
// 3166-2:IN and of vehicle number plates, where they differ) and its older
// names to the state's name.
var stateAliases = map[string]string{
	"AN": "Andaman and Nicobar Islands", "AP": "Andhra Pradesh", "AR": "Arunachal Pradesh", "AS": "Assam",
	"BR": "Bihar", "CH": "Chandigarh", "CT": "Chhattisgarh", "CG": "Chhattisgarh",
	"DH": "Dadra and Nagar Haveli and Daman and Diu", "DN": "Dadra and Nagar Haveli and Daman and Diu",
	"DD": "Dadra and Nagar Haveli and Daman and Diu", "DL": "Delhi", "GA": "Goa", "GJ": "Gujarat",
	"HR": "Haryana", "HP": "Himachal Pradesh", "JK": "Jammu and Kashmir", "JH": "Jharkhand", "KA": "Karnataka",
	"KL": "Kerala", "LA": "Ladakh", "LD": "Lakshadweep", "MP": "Madhya Pradesh", "MH": "Maharashtra",
	"MN": "Manipur", "ML": "Meghalaya", "MZ": "Mizoram", "NL": "Nagaland", "OD": "Odisha", "OR": "Odisha",
	"PY": "Puducherry", "PB": "Punjab", "RJ": "Rajasthan", "SK": "Sikkim", "TN": "Tamil Nadu",
	"TG": "Telangana", "TS": "Telangana", "TR": "Tripura", "UP": "Uttar Pradesh", "UK": "Uttarakhand",
	"UT": "Uttarakhand", "WB": "West Bengal",
	"ORISSA": "Odisha", "PONDICHERRY": "Puducherry", "UTTARANCHAL": "Uttarakhand", "NEW DELHI": "Delhi",
	"NCT OF DELHI": "Delhi",
}

// StateCode is the code a counter types for a state, as the form's State
// list shows it ("Delhi (DL)"; typing DL selects Delhi): its vehicle number
// plates' code, which stateAliases maps back.
func StateCode(state string) string {
	return stateCodes[state]
}

var stateCodes = func() map[string]string {
	preferred := map[string]string{"Chhattisgarh": "CG", "Dadra and Nagar Haveli and Daman and Diu": "DD",
		"Odisha": "OD", "Telangana": "TG", "Uttarakhand": "UK"}
	m := map[string]string{}
	for code, st := range stateAliases {
		if len(code) == 2 && m[st] == "" {
			m[st] = code
		}
	}
	for st, code := range preferred {
		m[st] = code
	}
	return m
}()

// Patient is a registered patient as the projection holds it.
type Patient struct {
	UHID             string
	Name             string
	NameHi           string
	Sex              string
	DateOfBirth      string
	DOBActual        bool
	Mobile           string
	Address          string
	City             string
	District         string
	State            string
	PIN              string
	GuardianRelation string
	GuardianName     string
	Category         string
	CategoryID       string
	ABHA             string // 14 digits, stored without hyphens
	Registered       string // a journal time
	RegisteredBy     string
	MergedInto       string // the record this one was merged into, directly; see Survivor
}

// registered is the payload that registers p.
func (p *Patient) registered() Registered {
	return Registered{
		ABHA: p.ABHA, Address: p.Address, Category: p.Category, CategoryID: p.CategoryID, City: p.City,
		DateOfBirth: p.DateOfBirth, District: p.District, DOBActual: p.DOBActual, GuardianName: p.GuardianName,
		GuardianRelation: p.GuardianRelation, Mobile: p.Mobile, Name: p.Name, NameHi: p.NameHi, PIN: p.PIN,
		RegisteredAt: p.Registered, RegisteredBy: p.RegisteredBy, Sex: p.Sex, State: p.State, UHID: p.UHID,
	}
}

// Age is a patient's age on a day, in years and months.
func (p *Patient) Age(on time.Time) (years, months int) {
	dob, err := time.Parse("2006-01-02", p.DateOfBirth)
	if err != nil {
		return 0, 0
	}
	return ageBetween(dob, on)
}

func ageBetween(dob, on time.Time) (years, months int) {
	months = (on.Year()-dob.Year())*12 + int(on.Month()) - int(dob.Month())
	if on.Day() < dob.Day() {
		months--
	}
	if months < 0 {
		months = 0
	}
	return months / 12, months % 12
}

// AgeText is the age as a slip shows it: "34 Y", "8 M".
func (p *Patient) AgeText(on time.Time) string {
	y, m := p.Age(on)
	if y == 0 {
		return strconv.Itoa(m) + " M"
	}
	if y < 5 && m > 0 {
		return strconv.Itoa(y) + " Y " + strconv.Itoa(m) + " M"
	}
	return strconv.Itoa(y) + " Y"
}

// ABHADisplay shows an ABHA number as XX-XXXX-XXXX-XXXX.
func ABHADisplay(a string) string {
	if len(a) != 14 {
		return a
	}
	return a[:2] + "-" + a[2:6] + "-" + a[6:10] + "-" + a[10:]
}

// GuardianText is the guardian line of a slip: "S/O Ramesh Kumar".
func (p *Patient) GuardianText() string {
	prefix := "C/O"
	switch p.GuardianRelation {
	case "father":
		prefix = map[string]string{"F": "D/O", "M": "S/O"}[p.Sex]
		if prefix == "" {
			prefix = "C/O"
		}
	case "husband":
		prefix = "W/O"
	case "wife":
		prefix = "H/O"
	case "mother":
		prefix = "C/O"
		if strings.HasPrefix(strings.ToUpper(p.Name), "B/O") {
			return p.Name
		}
	}
	if p.GuardianName == "" {
		return ""
	}
	return prefix + " " + p.GuardianName
}

// CategoryLabel is the category's English label.
func CategoryLabel(code string) string {
	for _, c := range Categories {
		if c.Code == code {
			return c.Label
		}
	}
	return code
}

// NewPatient is what a clerk or an API client submits to register a patient.
type NewPatient struct {
	Name             string `json:"name"`
	NameHi           string `json:"name_hi"`
	Sex              string `json:"sex"`
	DateOfBirth      string `json:"date_of_birth"`
	AgeYears         *int   `json:"age_years"`
	AgeMonths        *int   `json:"age_months"`
	Mobile           string `json:"mobile"`
	Address          string `json:"address"`
	City             string `json:"city"`
	District         string `json:"district"`
	State            string `json:"state"`
	PIN              string `json:"pin"`
	GuardianRelation string `json:"guardian_relation"`
	GuardianName     string `json:"guardian_name"`
	Category         string `json:"category"`
	CategoryID       string `json:"category_id"`
	ABHA             string `json:"abha_number"`
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z .'/-]*$`)
	mobileRE = regexp.MustCompile(`^[6-9][0-9]{9}$`)
	pinRE    = regexp.MustCompile(`^[1-9][0-9]{5}$`)
	digitsRE = regexp.MustCompile(`^[0-9]+$`)
)

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// NormalizeMobile strips +91, a leading 0, spaces and hyphens.
func NormalizeMobile(m string) string {
	m = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(m))
	m = strings.TrimPrefix(m, "+91")
	if len(m) == 12 && strings.HasPrefix(m, "91") {
		m = m[2:]
	}
	if len(m) == 11 && m[0] == '0' {
		m = m[1:]
	}
	return m
}

func isDevanagari(s string) bool {
	for _, r := range s {
		if !unicode.Is(unicode.Devanagari, r) && r != ' ' && r != '.' && !unicode.Is(unicode.Mn, r) && r != '\u200c' && r != '\u200d' {
			return false
		}
	}
	return true
}

// Validate checks and normalizes the input as of day today and returns the
// patient record it makes (without UHID), or an error naming every wrong field.
func (in *NewPatient) Validate(today time.Time) (*Patient, error) {
	f := kavach.Fields{}
	p := &Patient{}
	p.Name = clean(in.Name)
	switch {
	case p.Name == "":
		f.Add("name", "Name is required")
	case len(p.Name) < 2 || len(p.Name) > 100:
		f.Add("name", "Name must be 2 to 100 characters")
	case !nameRE.MatchString(p.Name):
		f.Add("name", "Name must be in English letters (A–Z); type the Hindi name in the Hindi name field")
	}
	p.NameHi = clean(in.NameHi)
	if p.NameHi != "" && (!isDevanagari(p.NameHi) || len([]rune(p.NameHi)) > 100) {
		f.Add("name_hi", "Hindi name must be in Devanagari script, at most 100 letters")
	}
	p.Sex = strings.ToUpper(strings.TrimSpace(in.Sex))
	if p.Sex == "" {
		f.Add("sex", "Choose the sex")
	} else if _, ok := Sexes[p.Sex]; !ok {
		f.Add("sex", "Sex must be M, F or O")
	}
	// A birth date is a day of the hospital's calendar, not the server's:
	// between midnight IST and 05:30 IST the UTC date is still yesterday,
	// and a baby born today would be "born in the future".
	today = today.In(kavach.Zone)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case strings.TrimSpace(in.DateOfBirth) != "":
		dob, err := time.Parse("2006-01-02", strings.TrimSpace(in.DateOfBirth))
		switch {
		case err != nil:
			f.Add("date_of_birth", "Date of birth must be a date like 1985-03-21")
		case dob.After(today):
			f.Add("date_of_birth", "Date of birth cannot be in the future")
		case today.Year()-dob.Year() > 130:
			f.Add("date_of_birth", "Date of birth is more than 130 years ago")
		default:
			p.DateOfBirth, p.DOBActual = dob.Format("2006-01-02"), true
			// Both given: the age must agree with the date. A clerk who
			// counts this year minus the year of birth is a year over
			// before the birthday, and that is let through.
			if in.AgeYears != nil {
				years := today.Year() - dob.Year()
				if today.Month() < dob.Month() || (today.Month() == dob.Month() && today.Day() < dob.Day()) {
					years--
				}
				if a := *in.AgeYears; a < years || a > today.Year()-dob.Year() {
					f.Add("age_years", fmt.Sprintf("Age %d years does not match the date of birth (%d years); give one of them", a, years))
				}
			}
		}
	case in.AgeYears != nil || in.AgeMonths != nil:
		y, m := 0, 0
		if in.AgeYears != nil {
			y = *in.AgeYears
		}
		if in.AgeMonths != nil {
			m = *in.AgeMonths
		}
		switch {
		case y < 0 || y > 130:
			f.Add("age_years", "Age must be 0 to 130 years")
		case m < 0 || m > 11:
			f.Add("age_months", "Months must be 0 to 11")
		default:
			// An estimated birth date: the middle of the year of age is no
			// better than its start, and the start keeps the age stable.
			p.DateOfBirth = today.AddDate(-y, -m, 0).Format("2006-01-02")
		}
	default:
		f.Add("date_of_birth", "Date of birth or age is required")
	}
	p.Mobile = NormalizeMobile(in.Mobile)
	switch {
	case p.Mobile == "":
		f.Add("mobile", "Mobile number is required")
	case !mobileRE.MatchString(p.Mobile):
		f.Add("mobile", "Mobile number must have 10 digits and start with 6, 7, 8 or 9")
	}
	p.Address = clean(in.Address)
	switch {
	case p.Address == "":
		f.Add("address", "Address is required")
	case len(p.Address) > 300:
		f.Add("address", "Address must be at most 300 characters")
	}
	f.Text("address", p.Address)
	p.City, p.District = clean(in.City), clean(in.District)
	if len(p.City) > 60 {
		f.Add("city", "City must be at most 60 characters")
	}
	f.Text("city", p.City)
	if len(p.District) > 60 {
		f.Add("district", "District must be at most 60 characters")
	}
	f.Text("district", p.District)
	if s := clean(in.State); s != "" {
		for _, st := range States {
			if strings.EqualFold(st, s) {
				p.State = st
			}
		}
		if p.State == "" {
			p.State = stateAliases[strings.ToUpper(s)]
		}
		if p.State == "" {
			f.Add("state", "State must be one of India's states or union territories, by its name (Uttar Pradesh) or its code (UP)")
		}
	}
	p.PIN = strings.ReplaceAll(strings.TrimSpace(in.PIN), " ", "")
	if p.PIN != "" && !pinRE.MatchString(p.PIN) {
		f.Add("pin", "PIN code must have 6 digits and not start with 0")
	}
	p.GuardianName = clean(in.GuardianName)
	switch {
	case p.GuardianName == "":
		f.Add("guardian_name", "Father's, husband's or guardian's name is required")
	case len(p.GuardianName) > 100 || !nameRE.MatchString(p.GuardianName):
		f.Add("guardian_name", "Guardian's name must be in English letters, at most 100")
	}
	p.GuardianRelation = strings.ToLower(strings.TrimSpace(in.GuardianRelation))
	if p.GuardianRelation != "" {
		ok := false
		for _, r := range Relations {
			ok = ok || r.Code == p.GuardianRelation
		}
		if !ok {
			f.Add("guardian_relation", "Relation must be father, husband, mother, wife or guardian")
		}
	}
	p.Category = strings.ToLower(strings.TrimSpace(in.Category))
	if p.Category == "" {
		p.Category = "general"
	}
	if CategoryLabel(p.Category) == p.Category {
		f.Add("category", "Category must be general, bpl, senior, staff or scheme")
	}
	p.CategoryID = clean(in.CategoryID)
	if len(p.CategoryID) > 40 {
		f.Add("category_id", "Category ID must be at most 40 characters")
	}
	f.Text("category_id", p.CategoryID)
	if p.Category == "senior" && p.DateOfBirth != "" {
		if dob, _ := time.Parse("2006-01-02", p.DateOfBirth); func() int { y, _ := ageBetween(dob, today); return y }() < 60 {
			f.Add("category", "Senior citizen category is for patients aged 60 or more")
		}
	}
	p.ABHA = strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(in.ABHA))
	if p.ABHA != "" && (len(p.ABHA) != 14 || !digitsRE.MatchString(p.ABHA)) {
		f.Add("abha_number", "ABHA number must have 14 digits, as XX-XXXX-XXXX-XXXX")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseUHID normalizes a typed or scanned UHID and checks its check character.
func ParseUHID(s string) (string, error) { return idcode.UHID(s) }
