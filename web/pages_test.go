package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kavach"

	"kavach/audit"
	"kavach/hospital"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
	"kavach/web"
)

const (
	testAdminPW = "admin-password-1"
	testDemoPW  = "demo-password-1"
)

// site is a real hospital node on a temporary directory behind a real HTTP
// server, with the demo departments and one user per role.
type site struct {
	h   *hospital.Hospital
	ws  *web.Server
	srv *httptest.Server
}

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	h, err := hospital.Open(ctx, node.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.EnsureAdmin(ctx, testAdminPW); err != nil {
		t.Fatal(err)
	}
	if err := h.SeedDemo(ctx, testDemoPW); err != nil {
		t.Fatal(err)
	}
	ws, err := h.Server(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return &site{h: h, ws: ws, srv: srv}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each answer.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
	csrf string // from the last page that had a form
}

func (s *site) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page is an answer: status, Location and body.
type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form with the CSRF value of the last page, unless the
// form sets its own.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", b.base+path)
	return b.do(req)
}

// login logs in through the login page.
func (b *browser) login(user, pw string) page {
	b.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"username": {user}, "password": {pw}})
}

func (s *site) loggedIn(t *testing.T, user string) *browser {
	t.Helper()
	b := s.browser(t)
	pw := testDemoPW
	if user == "admin" {
		pw = testAdminPW
	}
	if p := b.login(user, pw); p.status != http.StatusSeeOther {
		t.Fatalf("login %s: status %d: %s", user, p.status, p.body)
	}
	b.get("/")
	return b
}

// uhidOf is the UHID of a visit's patient.
func (s *site) uhidOf(t *testing.T, visit string) string {
	t.Helper()
	v, err := opd.GetVisit(context.Background(), s.h.Node.DB(), visit)
	if err != nil {
		t.Fatal(err)
	}
	return v.UHID
}

// patientForm is a valid registration form.
func patientForm(name, mobile, age string) url.Values {
	return url.Values{
		"name": {name}, "sex": {"F"}, "age_years": {age}, "mobile": {mobile},
		"guardian_relation": {"husband"}, "guardian_name": {"Ram Prasad"},
		"address": {"12 Gandhi Nagar"}, "city": {"New Delhi"}, "district": {"South Delhi"},
		"state": {"Delhi"}, "pin": {"110029"}, "category": {"general"}, "department": {"MED"},
	}
}

var slipRE = regexp.MustCompile(`^/visits/([A-Z0-9]+)/slip\?print=1$`)

// register registers a patient through the page and returns the visit ID.
func (b *browser) register(form url.Values) string {
	b.t.Helper()
	b.get("/register")
	p := b.post("/register", form)
	m := slipRE.FindStringSubmatch(p.location)
	if p.status != http.StatusSeeOther || m == nil {
		b.t.Fatalf("register %s: status %d, location %q: %s", form.Get("name"), p.status, p.location, p.body)
	}
	return m[1]
}

func must(t *testing.T, p page, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", p.status, status, p.body)
	}
	plain := html.UnescapeString(p.body)
	for _, s := range texts {
		if !strings.Contains(plain, s) {
			t.Errorf("page lacks %q; body:\n%s", s, p.body)
		}
	}
}

func TestLogin(t *testing.T) {
	s := newSite(t)
	t.Run("OK", func(t *testing.T) {
		b := s.browser(t)
		p := b.login("registration", testDemoPW)
		if p.status != http.StatusSeeOther || p.location != "/" {
			t.Fatalf("status %d location %q", p.status, p.location)
		}
		var c *http.Cookie
		for _, k := range (&http.Response{Header: p.header}).Cookies() {
			if k.Name == "kavach_session" {
				c = k
			}
		}
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
			t.Fatalf("session cookie %+v", c)
		}
		must(t, b.get("/"), http.StatusOK, "Demo registration", "Registration clerk", `href="/register"`, `accesskey="r"`)
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		b := s.browser(t)
		must(t, b.login("doctor", "not-the-password"), http.StatusUnauthorized, "Wrong username or password.", `value="doctor"`)
	})
	t.Run("NextKept", func(t *testing.T) {
		b := s.browser(t)
		p := b.get("/search?q=devi")
		if p.status != http.StatusSeeOther || p.location != "/login?next="+url.QueryEscape("/search?q=devi") {
			t.Fatalf("status %d location %q", p.status, p.location)
		}
		b.get(p.location)
		p = b.post("/login", url.Values{"username": {"registration"}, "password": {testDemoPW}, "next": {"/search?q=devi"}})
		if p.location != "/search?q=devi" {
			t.Fatalf("after login went to %q", p.location)
		}
	})
	t.Run("ErrNextOffSite", func(t *testing.T) {
		b := s.browser(t)
		b.get("/login")
		for _, next := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`} {
			p := b.post("/login", url.Values{"username": {"registration"}, "password": {testDemoPW}, "next": {next}})
			if p.location != "/" {
				t.Errorf("next %q: went to %q", next, p.location)
			}
		}
	})
	t.Run("Logout", func(t *testing.T) {
		b := s.loggedIn(t, "doctor")
		p := b.post("/logout", url.Values{})
		if p.status != http.StatusSeeOther || p.location != "/login" {
			t.Fatalf("logout: status %d location %q", p.status, p.location)
		}
		if p := b.get("/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
			t.Fatalf("after logout: status %d location %q", p.status, p.location)
		}
	})
}

func TestCSRF(t *testing.T) {
	s := newSite(t)
	other := s.loggedIn(t, "registration")
	for _, tc := range []struct {
		name string
		csrf []string // nil: no field at all
	}{
		{"ErrMissing", nil},
		{"ErrEmpty", []string{""}},
		{"ErrWrong", []string{"AAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"ErrOtherSession", []string{other.csrf}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.loggedIn(t, "registration")
			form := patientForm("Sunita Devi", "9811111111", "40")
			form["csrf"] = tc.csrf
			if tc.csrf == nil {
				form["csrf"] = []string{}
			}
			must(t, b.post("/register", form), http.StatusForbidden, "This form has expired")
			if ps, _ := registration.Search(context.Background(), s.h.Node.DB(), "9811111111", 5); len(ps) != 0 {
				t.Fatalf("a refused form registered %v", ps)
			}
		})
	}
	t.Run("ErrLoginWithoutCookie", func(t *testing.T) {
		b := s.browser(t)
		p := b.post("/login", url.Values{"username": {"registration"}, "password": {testDemoPW}, "csrf": {"x"}})
		must(t, p, http.StatusForbidden, "This form has expired")
	})
	t.Run("OK", func(t *testing.T) {
		b := s.loggedIn(t, "registration")
		b.register(patientForm("Sunita Devi", "9811111112", "40"))
	})
}

func TestRoles(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		user, path string
		status     int
		text       string
	}{
		{"lab", "/register", http.StatusForbidden, "Your role (lab) may not see this page"},
		{"lab", "/queue/MED", http.StatusForbidden, "Your role (lab) may not see this page"},
		{"lab", "/search", http.StatusOK, "Find a patient"},
		{"doctor", "/users", http.StatusForbidden, "Your role (doctor) may not see this page"},
		{"doctor", "/queue/MED", http.StatusOK, "General Medicine"},
		{"auditor", "/search", http.StatusForbidden, "Your role (auditor) may not see this page"},
		{"auditor", "/audit", http.StatusOK, "Audit trail"},
		{"registration", "/audit", http.StatusForbidden, "Your role (registration) may not see this page"},
		{"registration", "/status", http.StatusForbidden, "Your role (registration) may not see this page"},
		{"nurse", "/register", http.StatusForbidden, "Your role (nurse) may not see this page"},
		{"admin", "/status", http.StatusOK, "Verifier key"},
		{"admin", "/users", http.StatusOK, "Add a user"},
	} {
		t.Run(tc.user+tc.path, func(t *testing.T) {
			b := s.loggedIn(t, tc.user)
			p := b.get(tc.path)
			must(t, p, tc.status, tc.text)
			if tc.status == http.StatusForbidden && strings.Contains(p.body, `href="`+tc.path+`"`) {
				t.Errorf("the nav offers %s to %s", tc.path, tc.user)
			}
		})
	}
	t.Run("NotLoggedIn", func(t *testing.T) {
		b := s.browser(t)
		if p := b.get("/register"); p.status != http.StatusSeeOther || p.location != "/login?next=%2Fregister" {
			t.Fatalf("status %d location %q", p.status, p.location)
		}
	})
}

// TestBadText posts text no record may hold through the forms: bytes that
// are not UTF-8 (a form keeps them as they came), control characters and
// direction overrides are refused beside their field, and nothing is
// journaled; verify agrees with the tables after.
func TestBadText(t *testing.T) {
	s := newSite(t)
	b := s.loggedIn(t, "registration")
	uhid := mustRegister(t, b, patientForm("Lakshmi Devi", "9876543210", "45"))
	before := s.h.Node.Status().Events
	for _, tc := range []struct {
		name, field, value, message string
	}{
		{"ErrAddressNotUTF8", "address", "12 Gandhi\xffNagar", "Has characters that could not be read"},
		{"ErrCityNotUTF8", "city", "New \xc3Delhi", "Has characters that could not be read"},
		{"ErrDistrictOverride", "district", "South \u202eDelhi", "invisible formatting character"},
		{"ErrCategoryIDControl", "category_id", "BPL\x1b1", "control character"},
	} {
		t.Run("Register"+tc.name, func(t *testing.T) {
			form := patientForm("Meena Kumari", "9822222222", "33")
			form.Set(tc.field, tc.value)
			b.get("/register")
			p := b.post("/register", form)
			must(t, p, http.StatusBadRequest, "Please correct the marked fields.", tc.message)
			if !regexp.MustCompile(`<input id="` + tc.field + `"[^>]*aria-invalid="true"`).MatchString(p.body) {
				t.Errorf("field %s not marked", tc.field)
			}
		})
	}
	t.Run("AmendReasonNotUTF8", func(t *testing.T) {
		form := url.Values{}
		for k, v := range registration.RecordForm(mustPatient(t, s, uhid)) {
			form.Set(k, v)
		}
		form.Set("mobile", "9876543219")
		form.Set("reason", "new phone \xff")
		b.get("/patients/" + uhid + "/amend")
		must(t, b.post("/patients/"+uhid+"/amend", form), http.StatusBadRequest, "Has characters that could not be read")
	})
	t.Run("MergeReasonOverride", func(t *testing.T) {
		other := mustRegister(t, b, patientForm("Gita Sharma", "9876543211", "28"))
		b.get("/patients/" + other)
		must(t, b.post("/patients/"+other+"/merge", url.Values{"into": {uhid}, "reason": {"same \u2067woman"}}), http.StatusBadRequest, "invisible formatting character")
	})
	// Only the second patient (for the merge) and the pages' audit entries
	// were journaled.
	evs, err := s.h.Node.EventsFrom(context.Background(), before, s.h.Node.Status().Events, 1000)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		ev, _ := journal.Decode(e.Data)
		kinds[ev.Type]++
	}
	delete(kinds, "record.viewed")
	if kinds["patient.registered"] != 1 || kinds["visit.opened"] != 1 || len(kinds) != 2 {
		t.Errorf("refused forms journaled: %v", kinds)
	}
	s.h.Close()
	rep, err := node.Verify(context.Background(), s.h.Node.Dir(), hospital.Services(), node.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// mustRegister registers a patient through the page and returns the UHID.
func mustRegister(t *testing.T, b *browser, form url.Values) string {
	t.Helper()
	visit := b.register(form)
	p := b.get("/visits/" + visit + "/slip")
	m := regexp.MustCompile(`/barcode/([A-Z0-9]+)\.png`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no UHID on the slip of %s", visit)
	}
	return m[1]
}

func TestRegisterFieldErrors(t *testing.T) {
	s := newSite(t)
	b := s.loggedIn(t, "registration")
	t.Run("StateCodes", func(t *testing.T) {
		// Typing DL in the State list selects Delhi (TestBrowser): every
		// option carries the code the server takes for it.
		p := b.get("/register")
		must(t, p, http.StatusOK, `<option value="Delhi" data-code="DL">Delhi (DL)</option>`, `<option value="Uttar Pradesh" data-code="UP">Uttar Pradesh (UP)</option>`)
		for _, st := range registration.States {
			code := registration.StateCode(st)
			if code == "" || !strings.Contains(p.body, `<option value="`+st+`" data-code="`+code+`">`+st+` (`+code+`)</option>`) {
				t.Errorf("state %s has no code (%q) in the form", st, code)
			}
		}
	})
	for _, tc := range []struct {
		name    string
		change  map[string]string
		field   string
		message string
	}{
		{"ErrMobileTooShort", map[string]string{"mobile": "98765"}, "mobile", "Mobile number must have 10 digits"},
		{"ErrNameMissing", map[string]string{"name": "  "}, "name", "Name is required"},
		{"ErrNoAge", map[string]string{"age_years": ""}, "date_of_birth", "Date of birth or age is required"},
		{"ErrAgeNotNumber", map[string]string{"age_years": "forty"}, "age_years", "Age must be a whole number"},
		{"ErrBadDate", map[string]string{"age_years": "", "date_of_birth": "31-13-1980"}, "date_of_birth", "Date of birth must be a date like 21-03-1985"},
		{"ErrPIN", map[string]string{"pin": "01234"}, "pin", "PIN code must have 6 digits"},
		{"ErrABHA", map[string]string{"abha_number": "12-3456"}, "abha_number", "ABHA number must have 14 digits"},
		{"ErrGuardian", map[string]string{"guardian_name": ""}, "guardian_name", "guardian's name is required"},
		{"ErrDepartment", map[string]string{"department": "XYZ"}, "department", "Choose a department"},
		{"ErrNoSex", map[string]string{"sex": ""}, "sex", "Choose the sex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := patientForm("Meena Kumari", "9822222222", "33")
			for k, v := range tc.change {
				form.Set(k, v)
			}
			b.get("/register")
			p := b.post("/register", form)
			must(t, p, http.StatusBadRequest, "Please correct the marked fields.", tc.message)
			// The error sits next to its field, which is marked and has the cursor.
			field := regexp.MustCompile(`<input id="` + tc.field + `"[^>]*>|<select id="` + tc.field + `"[^>]*>`).FindString(p.body)
			if !strings.Contains(field, `aria-invalid="true"`) || !strings.Contains(field, "autofocus") {
				t.Errorf("field %s not marked: %s", tc.field, field)
			}
			// What the clerk typed is kept.
			for _, k := range []string{"address", "guardian_name", "mobile"} {
				if v := form.Get(k); v != "" && !strings.Contains(p.body, `value="`+v+`"`) {
					t.Errorf("%s %q not kept", k, v)
				}
			}
			if ps, _ := registration.Search(context.Background(), s.h.Node.DB(), "9822222222", 5); len(ps) != 0 {
				t.Fatalf("a rejected form registered %v", ps)
			}
		})
	}
}

func TestRegisterAndSlip(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	b := s.loggedIn(t, "registration")
	visit := b.register(patientForm("Lakshmi Devi", "9876543210", "45"))
	uhid := s.uhidOf(t, visit)

	t.Run("Slip", func(t *testing.T) {
		p := b.get("/visits/" + visit + "/slip?print=1")
		must(t, p, http.StatusOK, `data-autoprint="1"`, "Lakshmi Devi", "W/O Ram Prasad", idcode.ShowUHID(uhid),
			`<img src="/barcode/`+uhid+`.png"`, "रोगी का नाम", "/ Name", "टोकन", "TOKEN", "General Medicine (MED)", "कमरा सं.",
			"Dr. A. Sharma", "Valid up to", "₹10.00", "slip-80mm.css", `id="next" autofocus`)
		if !regexp.MustCompile(`id="token">.*<b>1</b>`).MatchString(p.body) {
			t.Errorf("token 1 not on the slip")
		}
		must(t, b.get("/visits/"+visit+"/slip?size=a5"), http.StatusOK, "slip-a5.css")
		must(t, b.get("/visits/"+visit+"/slip?size=legal"), http.StatusBadRequest, "Slip size must be a5 or 80mm.")
		must(t, b.get("/visits/NOPE/slip"), http.StatusNotFound)
	})
	t.Run("Barcode", func(t *testing.T) {
		p := b.get("/barcode/" + uhid + ".png")
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(p.body, "\x89PNG") {
			t.Fatalf("barcode: status %d type %q", p.status, p.header.Get("Content-Type"))
		}
		must(t, b.get("/barcode/"+uhid[:len(uhid)-1]+"Z.png"), http.StatusNotFound)
	})
	t.Run("PDF", func(t *testing.T) {
		p := b.get("/visits/" + visit + "/slip.pdf?size=a5")
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(p.body, "%PDF") {
			t.Fatalf("pdf: status %d type %q", p.status, p.header.Get("Content-Type"))
		}
	})
	t.Run("Duplicate", func(t *testing.T) {
		b.get("/register")
		form := patientForm("Laxmi Devi", "9123456780", "45")
		p := b.post("/register", form)
		must(t, p, http.StatusOK, "This patient may already be registered", idcode.ShowUHID(uhid), "Lakshmi Devi",
			"similar name and age", "Use this patient", "Register as new patient", `name="confirm_new" value="1"`)
		es, err := audit.Entries(ctx, s.h.Node.DB(), audit.Query{Patient: uhid, User: "registration"})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 || es[0].Action != "page.duplicates" {
			t.Fatalf("showing the candidates was not audited: %+v", es)
		}
		if ps, _ := registration.Search(ctx, s.h.Node.DB(), "9123456780", 5); len(ps) != 0 {
			t.Fatalf("the warning registered %v", ps)
		}
		t.Run("RegisterAsNew", func(t *testing.T) {
			form.Set("confirm_new", "1")
			p := b.post("/register", form)
			if p.status != http.StatusSeeOther || !slipRE.MatchString(p.location) {
				t.Fatalf("status %d location %q", p.status, p.location)
			}
			if ps, _ := registration.Search(ctx, s.h.Node.DB(), "9123456780", 5); len(ps) != 1 {
				t.Fatalf("registered %d patients, want 1", len(ps))
			}
		})
		t.Run("UseThisPatient", func(t *testing.T) {
			p := b.post("/visits", url.Values{"uhid": {uhid}, "department": {"ENT"}})
			m := slipRE.FindStringSubmatch(p.location)
			if p.status != http.StatusSeeOther || m == nil {
				t.Fatalf("status %d location %q: %s", p.status, p.location, p.body)
			}
			v, err := opd.GetVisit(ctx, s.h.Node.DB(), m[1])
			if err != nil || v.UHID != uhid || v.Department != "ENT" || v.Token != 1 {
				t.Fatalf("visit %+v, %v", v, err)
			}
		})
	})
	t.Run("Search", func(t *testing.T) {
		for _, q := range []string{"9876543210", "laks", "devi", uhid, idcode.ShowUHID(uhid)} {
			must(t, b.get("/search?q="+url.QueryEscape(q)), http.StatusOK, "Lakshmi Devi", "/patients/"+uhid)
		}
		must(t, b.get("/search?q=nobody"), http.StatusOK, "No patient found.")
		es, _ := audit.Entries(ctx, s.h.Node.DB(), audit.Query{Patient: uhid, User: "registration", Limit: 1})
		if len(es) != 1 || es[0].Action != "page.search" {
			t.Fatalf("search not audited: %+v", es)
		}
	})
	t.Run("PatientPage", func(t *testing.T) {
		must(t, b.get("/patients/"+uhid), http.StatusOK, "Lakshmi Devi", "W/O Ram Prasad", "45 Y", "General Medicine", "ENT",
			"registered", "Open visit and print slip", "Merge a duplicate",
			// The visit card offers the last visit's department (ENT).
			`<option value="ENT" selected>`)
		if strings.Contains(b.get("/patients/"+uhid).body, `<option value="MED" selected>`) {
			t.Errorf("the visit card offers MED, not the last visit's ENT")
		}
		es, _ := audit.Entries(ctx, s.h.Node.DB(), audit.Query{Patient: uhid, Limit: 1})
		if len(es) != 1 || es[0].Action != "page.patient" {
			t.Fatalf("patient page not audited: %+v", es)
		}
		must(t, b.get("/patients/KA0000000"), http.StatusNotFound)
	})
	t.Run("Amend", func(t *testing.T) {
		// Registered by age: the form shows the age, not a made-up date.
		p := b.get("/patients/" + uhid + "/amend")
		must(t, p, http.StatusOK, `value="9876543210"`,
			`id="date_of_birth" name="date_of_birth" value=""`, `id="age_told">age as told: 45 Y.`)
		if strings.Contains(p.body, `class="req">Date of birth`) {
			t.Errorf("the date of birth of an age-only record is required on the amend form")
		}
		form := url.Values{}
		for k, v := range registration.RecordForm(mustPatient(t, s, uhid)) {
			form.Set(k, v)
		}
		form.Set("abha_number", "12345678901234")
		must(t, b.post("/patients/"+uhid+"/amend", form), http.StatusBadRequest, "Reason is required")
		form.Set("reason", "Patient brought ABHA card")
		if p := b.post("/patients/"+uhid+"/amend", form); p.status != http.StatusSeeOther || p.location != "/patients/"+uhid {
			t.Fatalf("amend: status %d location %q: %s", p.status, p.location, p.body)
		}
		must(t, b.get("/patients/"+uhid), http.StatusOK, "12-3456-7890-1234", "amended", "Patient brought ABHA card")
		// The untouched fields are not journaled as changes.
		hs, _ := registration.History(ctx, s.h.Node.DB(), uhid)
		if last := hs[len(hs)-1].Details; last != "abha_number: — → 12345678901234 (Patient brought ABHA card)" {
			t.Fatalf("history: %q", last)
		}
		// A second amendment shows the first's value as the old one, and
		// a field's first amendment the registered value.
		form = url.Values{}
		for k, v := range registration.RecordForm(mustPatient(t, s, uhid)) {
			form.Set(k, v)
		}
		form.Set("abha_number", "12345678909999")
		form.Set("mobile", "9811111111")
		form.Set("reason", "New card (and phone)")
		if p := b.post("/patients/"+uhid+"/amend", form); p.status != http.StatusSeeOther {
			t.Fatalf("amend: status %d: %s", p.status, p.body)
		}
		must(t, b.get("/patients/"+uhid), http.StatusOK,
			"abha_number: 12345678901234 → 12345678909999; mobile: 9876543210 → 9811111111 (New card (and phone))")
	})
}

func mustPatient(t *testing.T, s *site, uhid string) *registration.Patient {
	t.Helper()
	p, err := registration.Get(context.Background(), s.h.Node.DB(), uhid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMerge merges a duplicate and follows the banner to the survivor.
func TestMerge(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	b := s.loggedIn(t, "registration")
	keep := b.register(patientForm("Ramesh Kumar", "9811000001", "50"))
	form := patientForm("Ramesh Kr", "9811000002", "50")
	form.Set("confirm_new", "1")
	drop := b.register(form)
	vk, _ := opd.GetVisit(ctx, s.h.Node.DB(), keep)
	vd, _ := opd.GetVisit(ctx, s.h.Node.DB(), drop)

	b.get("/patients/" + vd.UHID)
	must(t, b.post("/patients/"+vd.UHID+"/merge", url.Values{"into": {vk.UHID}}), http.StatusBadRequest, "Reason is required", `id="mergeerr"`)
	must(t, b.post("/patients/"+vd.UHID+"/merge", url.Values{"into": {"KA12345"}, "reason": {"same man"}}), http.StatusBadRequest, "not a UHID")
	// The clerk's merge waits for a second person, whom the record shows it
	// to; the medical records officer confirms it.
	// The form's POST asks to confirm first; the confirmed POST asks for the merge.
	must(t, b.post("/patients/"+vd.UHID+"/merge", url.Values{"into": {idcode.ShowUHID(vk.UHID)}, "reason": {"Same patient, registered twice"}}),
		http.StatusOK, "Confirm merge", `name="confirm" value="1"`)
	p := b.post("/patients/"+vd.UHID+"/merge", url.Values{"into": {vk.UHID}, "reason": {"Same patient, registered twice"}, "confirm": {"1"}})
	if p.status != http.StatusSeeOther || p.location != "/patients/"+vd.UHID {
		t.Fatalf("merge: status %d location %q: %s", p.status, p.location, p.body)
	}
	page := b.get("/patients/" + vd.UHID)
	must(t, page, http.StatusOK, "A merge waits for a second person:", "merge requested")
	if strings.Contains(page.body, "Confirm the merge") {
		t.Error("the clerk who asked may confirm the merge")
	}
	rec := s.loggedIn(t, "records")
	must(t, rec.get("/patients/"+vd.UHID), http.StatusOK, "Confirm the merge")
	must(t, rec.post("/patients/"+vd.UHID+"/merge", url.Values{"into": {vk.UHID}, "reason": {"Same patient, registered twice"}}),
		http.StatusOK, "Ramesh Kr", "Ramesh Kumar", "Confirm merge")
	p = rec.post("/patients/"+vd.UHID+"/merge", url.Values{"into": {vk.UHID}, "reason": {"Same patient, registered twice"}, "confirm": {"1"}})
	if p.status != http.StatusSeeOther || p.location != "/patients/"+vk.UHID {
		t.Fatalf("confirm: status %d location %q: %s", p.status, p.location, p.body)
	}
	must(t, b.get("/patients/"+vd.UHID), http.StatusOK, "This record was merged into another.", `href="/patients/`+vk.UHID+`"`)
	must(t, b.get("/patients/"+vk.UHID), http.StatusOK, idcode.ShowUHID(vd.UHID)+"</a> merged into this record", "requested by registration")
	must(t, b.get("/patients/"+vd.UHID+"/amend"), http.StatusConflict, "amend that one")
	// The records officer undoes it.
	must(t, rec.get("/patients/"+vd.UHID), http.StatusOK, "Undo the merge")
	p = rec.post("/patients/"+vd.UHID+"/unmerge", url.Values{"reason": {"two people after all"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("unmerge: status %d: %s", p.status, p.body)
	}
	page = b.get("/patients/" + vd.UHID)
	must(t, page, http.StatusOK, "unmerged", "two people after all")
	if strings.Contains(page.body, "This record was merged into another.") {
		t.Error("an unmerged record still says it was merged")
	}
}

// TestMergeHistory merges a duplicate that has a visit and a lab sample:
// the merge asks to confirm with both records side by side, and then the
// survivor shows both records' visits and the sample, search by the merged
// record's mobile finds the survivor, and the history links the merged UHID.
func TestMergeHistory(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	db := s.h.Node.DB()
	reg := s.loggedIn(t, "registration")
	keepVisit := reg.register(patientForm("Sunita Sharma", "9811000011", "40"))
	form := patientForm("Sunita Sharmaa", "9811000012", "41")
	form.Set("confirm_new", "1")
	form.Set("address", "12 Gali Number 3")
	dropVisit := reg.register(form)
	vk, _ := opd.GetVisit(ctx, db, keepVisit)
	vd, _ := opd.GetVisit(ctx, db, dropVisit)
	keep, drop := vk.UHID, vd.UHID

	// The duplicate has a lab sample.
	doc := s.loggedIn(t, "doctor")
	if p := doc.post("/lab/orders", url.Values{"uhid": {drop}, "tests": {"CBC"}, "visit_id": {dropVisit}, "from": {"patient"}}); p.status != http.StatusSeeOther {
		t.Fatalf("order: %d %s", p.status, p.body)
	}
	accs := s.loggedIn(t, "lab").collectAll(drop)
	if len(accs) == 0 {
		t.Fatal("no sample collected")
	}

	merges := func() int {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM journal_events WHERE CAST(data AS TEXT) LIKE '%"type":"patient.merge%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rec := s.loggedIn(t, "records")
	rec.get("/patients/" + drop)
	before := merges()
	// Enter in the reason field submits the form: that shows both records
	// side by side and merges nothing.
	p := rec.post("/patients/"+drop+"/merge", url.Values{"into": {idcode.ShowUHID(keep)}, "reason": {"Same woman, name misspelt"}})
	must(t, p, http.StatusOK, `id="merge-compare"`, "Sunita Sharmaa", "Sunita Sharma", "9811000011", "9811000012", "12 Gali Number 3",
		idcode.ShowUHID(keep), idcode.ShowUHID(drop), "Ram Prasad", `id="from-visits"`, `<span class="visit-count">1</span>`,
		"Confirm merge", `name="confirm" value="1"`, `href="/patients/`+drop+`" class="button secondary" id="merge-cancel"`)
	if merges() != before {
		t.Fatal("the first POST of the merge form wrote a merge event")
	}
	if mustPatient(t, s, drop).MergedInto != "" {
		t.Fatal("the first POST merged")
	}
	// A refused merge still comes back to the form, without confirming.
	must(t, rec.post("/patients/"+drop+"/merge", url.Values{"into": {keep}}), http.StatusBadRequest, "Reason is required", `id="mergeerr"`)
	p = rec.post("/patients/"+drop+"/merge", url.Values{"into": {keep}, "reason": {"Same woman, name misspelt"}, "confirm": {"1"}})
	if p.status != http.StatusSeeOther || p.location != "/patients/"+keep {
		t.Fatalf("confirmed merge: status %d location %q: %s", p.status, p.location, p.body)
	}
	if mustPatient(t, s, drop).MergedInto != keep {
		t.Fatal("the confirmed POST did not merge")
	}

	// The survivor shows both records' visits and the merged record's sample.
	p = doc.get("/patients/" + keep)
	must(t, p, http.StatusOK, keepVisit, dropVisit, accs[0], `href="/patients/`+drop+`"`,
		`<a href="/patients/`+drop+`" class="mono">`+idcode.ShowUHID(drop)+`</a> merged into this record`)
	// The read is audited for both records.
	es, _ := audit.Entries(ctx, db, audit.Query{Patient: drop, User: "doctor"})
	if !hasAction(es, "page.patient") {
		t.Errorf("the survivor's page did not audit the merged record's read: %+v", es)
	}
	// The merged record's page says so and links to the survivor, and its
	// history links the survivor's UHID.
	must(t, rec.get("/patients/"+drop), http.StatusOK, "This record was merged into another.",
		`<a href="/patients/`+keep+`" class="mono">`+idcode.ShowUHID(keep)+`</a>`)

	// Search by the merged record's mobile, name or UHID finds the survivor, once.
	for _, q := range []string{"9811000012", "sunita sharmaa", drop} {
		p = reg.get("/search?q=" + url.QueryEscape(q))
		must(t, p, http.StatusOK, `href="/patients/`+keep+`"`, "merged from")
		if n := strings.Count(p.body, `<a href="/patients/`+keep+`"`); n != 1 {
			t.Errorf("search %q lists the survivor %d times", q, n)
		}
	}
	must(t, reg.get("/search?q=9811000011"), http.StatusOK, `href="/patients/`+keep+`"`)
	// Registering someone with the merged record's mobile warns of the survivor.
	reg.get("/register")
	p = reg.post("/register", patientForm("Kamla Rani", "9811000012", "60"))
	must(t, p, http.StatusOK, "This patient may already be registered", idcode.ShowUHID(keep), "same mobile")
	if strings.Contains(p.body, idcode.ShowUHID(drop)) {
		t.Error("the duplicate warning names the merged record, not the survivor")
	}
}

func TestQueue(t *testing.T) {
	s := newSite(t)
	reg := s.loggedIn(t, "registration")
	var visits []string
	for i, name := range []string{"Asha Rani", "Bimla Devi", "Chandni Bano"} {
		visits = append(visits, reg.register(patientForm(name, fmt.Sprintf("98100000%02d", i), fmt.Sprint(20+10*i))))
	}
	doc := s.loggedIn(t, "doctor")
	must(t, doc.get("/queue"), http.StatusOK, `href="/queue/MED"`, "General Medicine")
	p := doc.get("/queue/med")
	must(t, p, http.StatusOK, `<b id="waiting">3</b>`)
	a, bi, c := strings.Index(p.body, "Asha Rani"), strings.Index(p.body, "Bimla Devi"), strings.Index(p.body, "Chandni Bano")
	if !(a > 0 && a < bi && bi < c) {
		t.Fatalf("queue not in token order: %d %d %d", a, bi, c)
	}
	// Nothing has the focus, so Enter on load marks nobody seen; Alt+M
	// reaches the first waiting patient.
	if strings.Contains(p.body, "autofocus") || !strings.Contains(p.body, `formaction="/visits/`+visits[0]+`/seen" accesskey="m"`) {
		t.Errorf("the first waiting patient's button: autofocus, or no access key")
	}
	p = doc.post("/visits/"+visits[0]+"/seen", url.Values{})
	if p.status != http.StatusSeeOther || p.location != "/queue/MED" {
		t.Fatalf("seen: status %d location %q", p.status, p.location)
	}
	p = doc.get("/queue/MED")
	must(t, p, http.StatusOK, `<b id="waiting">2</b>`, `class="seen"`, `formaction="/visits/`+visits[1]+`/seen" accesskey="m"`,
		`formaction="/visits/`+visits[0]+`/unseen"`)
	must(t, doc.get("/queue/XYZ"), http.StatusNotFound)
	es, _ := audit.Entries(context.Background(), s.h.Node.DB(), audit.Query{User: "doctor", Limit: 1})
	if len(es) == 0 || es[0].Action != "page.queue" {
		t.Fatalf("queue not audited: %+v", es)
	}
}

func TestUsersPage(t *testing.T) {
	s := newSite(t)
	b := s.loggedIn(t, "admin")
	must(t, b.post("/users", url.Values{"username": {"X"}, "role": {"doctor"}, "password": {"short"}}), http.StatusBadRequest,
		"Username must be 2 to 32 small letters", "Password must have at least 10 characters")
	if p := b.post("/users", url.Values{"username": {"dr.rao"}, "full_name": {"Dr. N. Rao"}, "role": {"doctor"}, "password": {"rao-password-1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add user: %d %s", p.status, p.body)
	}
	must(t, b.get("/users"), http.StatusOK, "dr.rao", "Dr. N. Rao")
	must(t, b.post("/users", url.Values{"username": {"dr.rao"}, "role": {"doctor"}, "password": {"rao-password-1"}}), http.StatusConflict, "already exists")
	if p := b.post("/users/dr.rao/disable", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", p.status, p.body)
	}
	must(t, b.get("/users"), http.StatusOK, "Disabled")
	must(t, b.post("/users/admin/disable", url.Values{}), http.StatusBadRequest, "You cannot disable your own account.")
}

func TestAuditAndStatusPages(t *testing.T) {
	s := newSite(t)
	reg := s.loggedIn(t, "registration")
	visit := reg.register(patientForm("Geeta Sharma", "9833333333", "36"))
	reg.get("/visits/" + visit + "/slip")
	v, _ := opd.GetVisit(context.Background(), s.h.Node.DB(), visit)

	aud := s.loggedIn(t, "auditor")
	must(t, aud.get("/audit?patient="+v.UHID), http.StatusOK, "page.slip", "registration")
	must(t, aud.get("/audit?user=registration"), http.StatusOK, "page.slip")
	must(t, aud.get("/audit?patient=nonsense"), http.StatusBadRequest, "That is not a UHID.")

	adm := s.loggedIn(t, "admin")
	info := s.h.Node.Info()
	must(t, adm.get("/status"), http.StatusOK, info.Verifier, info.NodeCode, info.HospitalCode, "Journal size", "Last checkpoint")
}

// TestHindi checks the language toggle and that the labels have Hindi.
func TestHindi(t *testing.T) {
	s := newSite(t)
	b := s.loggedIn(t, "registration")
	must(t, b.get("/register"), http.StatusOK, `<html lang="en">`, "Patient name", `href="/lang/hi?next=%2fregister"`, `accesskey="l"`)
	p := b.get("/lang/hi?next=/register")
	if p.status != http.StatusSeeOther || p.location != "/register" {
		t.Fatalf("toggle: status %d location %q", p.status, p.location)
	}
	must(t, b.get("/register"), http.StatusOK, `<html lang="hi">`, "रोगी का नाम", "उम्र", "लिंग", "पता", "विभाग", "खोजें", "पंजीकरण",
		"सामान्य चिकित्सा", "English")
	visit := b.register(patientForm("Kamla Devi", "9844444444", "60"))
	must(t, b.get("/visits/"+visit+"/slip"), http.StatusOK, "रोगी का नाम", "/ Name", "चिकित्सक", "/ Doctor", "तक मान्य")
	// One patient found reads "1 मिला", not "1 मिले".
	must(t, b.get("/search?q=9844444444"), http.StatusOK, `id="count">1 मिला</p>`)
	b.get("/lang/en?next=/")
	// The slip keeps both languages whatever the toggle says.
	must(t, b.get("/visits/"+visit+"/slip"), http.StatusOK, `<html lang="en">`, "रोगी का नाम", "/ Name", "कमरा सं.", "/ Room No.")
	must(t, b.get("/lang/hi?next=https://evil.example/"), http.StatusSeeOther)
	if p := b.get("/lang/hi?next=https://evil.example/"); p.location != "/" {
		t.Fatalf("toggle followed an off-site next: %q", p.location)
	}
}

// TestHindiTable checks that every label the templates translate, every
// nav entry and role, and the labels that code puts on pages have Hindi.
func TestHindiTable(t *testing.T) {
	s := newSite(t)
	missing := s.ws.Untranslated()
	var keys []string
	for _, l := range registration.Sexes {
		keys = append(keys, l)
	}
	for _, r := range registration.Relations {
		keys = append(keys, r.Label)
	}
	keys = append(keys, "same mobile", "similar name and age", "similar name", "New", "Revisit", "registered", "amended", "merged",
		"merge requested", "unmerged")
	for _, k := range keys {
		if _, ok := s.ws.Hindi(k); !ok {
			missing = append(missing, k)
		}
	}
	for _, k := range missing {
		t.Errorf("no Hindi for %q", k)
	}
}

// TestPageSizes loads every page with a busy day's data and checks that it
// stays under 200 KB with its stylesheets, script and (for Hindi) font.
// TestQueueUnseen: a seen mark undone from the queue page puts the patient
// back in the queue, journalled as the doctor's visit.unseen; the API does
// the same; registration may do neither. The page's poll answers 204 while
// the queue is unchanged, and is not audited then.
func TestQueueUnseen(t *testing.T) {
	s := newSite(t)
	reg := s.loggedIn(t, "registration")
	v1 := reg.register(patientForm("Asha Rani", "9810000001", "30"))
	v2 := reg.register(patientForm("Bimla Devi", "9810000002", "40"))
	doc := s.loggedIn(t, "doctor")
	if p := doc.post("/visits/"+v1+"/seen", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("seen: %d", p.status)
	}
	must(t, doc.get("/queue/MED"), http.StatusOK, `<b id="waiting">1</b>`, `formaction="/visits/`+v1+`/unseen"`)

	// Registration may not undo it, by page or API.
	must(t, reg.post("/visits/"+v1+"/unseen", url.Values{}), http.StatusForbidden)
	regTok, docTok := apiToken(t, s, "registration"), apiToken(t, s, "doctor")
	if st, _ := apiCall(t, s, "POST", "/api/v1/opd-visits/"+v1+"/unseen", regTok, nil); st != http.StatusForbidden {
		t.Errorf("registration's API unseen: %d", st)
	}

	p := doc.post("/visits/"+v1+"/unseen", url.Values{})
	if p.status != http.StatusSeeOther || p.location != "/queue/MED" {
		t.Fatalf("unseen: status %d location %q", p.status, p.location)
	}
	p = doc.get("/queue/MED")
	must(t, p, http.StatusOK, `<b id="waiting">2</b>`, `formaction="/visits/`+v1+`/seen" accesskey="m"`)
	if strings.Contains(p.body, `class="seen"`) {
		t.Error("an undone seen mark still shows")
	}
	ctx := context.Background()
	evs, err := s.h.Node.EventsFrom(ctx, 0, s.h.Node.Status().Events, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var unseen int
	for _, ee := range evs {
		e, _ := journal.Decode(ee.Data)
		if e != nil && e.Type == "visit.unseen" {
			unseen++
			if e.Actor != "doctor" || !strings.Contains(string(e.Payload), v1) {
				t.Errorf("visit.unseen: actor %s payload %s", e.Actor, e.Payload)
			}
		}
	}
	if unseen != 1 {
		t.Errorf("%d visit.unseen events, want 1", unseen)
	}

	// The API: seen, then undone.
	if st, body := apiCall(t, s, "POST", "/api/v1/opd-visits/"+v2+"/seen", docTok, nil); st != http.StatusOK || !strings.Contains(string(body), `"seen_by":"doctor"`) {
		t.Fatalf("API seen: %d %s", st, body)
	}
	if st, body := apiCall(t, s, "POST", "/api/v1/opd-visits/"+v2+"/unseen", docTok, nil); st != http.StatusOK || strings.Contains(string(body), `"seen_by":"doctor"`) {
		t.Fatalf("API unseen: %d %s", st, body)
	}

	// The poll: unchanged is 204 and no audit entry; changed is the page.
	p = doc.get("/queue/MED")
	version := regexp.MustCompile(`data-version="([0-9a-f]+)"`).FindStringSubmatch(p.body)
	if version == nil {
		t.Fatalf("no version on the queue page")
	}
	before, _ := audit.Entries(ctx, s.h.Node.DB(), audit.Query{User: "doctor", Limit: 1000})
	must(t, doc.get("/queue/MED?v="+version[1]), http.StatusNoContent)
	after, _ := audit.Entries(ctx, s.h.Node.DB(), audit.Query{User: "doctor", Limit: 1000})
	if len(after) != len(before) {
		t.Errorf("an unchanged poll was audited: %d entries, then %d", len(before), len(after))
	}
	reg.register(patientForm("Chandni Bano", "9810000003", "50"))
	must(t, doc.get("/queue/MED?v="+version[1]), http.StatusOK, "Chandni Bano", `<b id="waiting">3</b>`)
}

func TestPageSizes(t *testing.T) {
	const limit = 200 << 10
	s := newSite(t)
	ctx := context.Background()
	reg := s.loggedIn(t, "registration")
	visit := reg.register(patientForm("Lakshmi Devi", "9876543210", "45"))
	v, _ := opd.GetVisit(ctx, s.h.Node.DB(), visit)

	// A morning's crowd in one department, and many namesakes for search.
	err := s.h.Node.Do(ctx, "registration", func(tx *node.Tx) error {
		for i := 0; i < 700; i++ {
			age := 20 + i%50
			r, err := registration.Register(tx, &registration.NewPatient{Name: fmt.Sprintf("Devi Patient %c%c", 'a'+i%26, 'a'+i/26%26),
				Sex: "F", AgeYears: &age, Mobile: fmt.Sprintf("9%09d", 100000+i), Address: "Ward " + fmt.Sprint(i) + ", Sangam Vihar",
				GuardianName: "Mohan Lal Sharma", GuardianRelation: "husband"})
			if err != nil {
				return err
			}
			if _, err := opd.Open(tx, opd.NewVisit{UHID: r.Patient.UHID, Department: "MED"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	users := map[string]*browser{
		"registration": reg, "doctor": s.loggedIn(t, "doctor"), "admin": s.loggedIn(t, "admin"), "auditor": s.loggedIn(t, "auditor"),
	}
	// The doctor has seen a hundred patients.
	for _, e := range mustQueue(t, s)[:100] {
		users["doctor"].post("/visits/"+e.ID+"/seen", url.Values{})
	}
	reg.get("/register")
	dupPage := reg.post("/register", patientForm("Devi Patient aa", "9000100000", "20"))
	pages := []struct{ user, path string }{
		{"registration", "/login"},
		{"registration", "/"},
		{"registration", "/register"},
		{"registration", "/search?q=devi"},
		{"registration", "/search?q=" + v.UHID},
		{"registration", "/patients/" + v.UHID},
		{"registration", "/patients/" + v.UHID + "/amend"},
		{"registration", "/visits/" + visit + "/slip?print=1"},
		{"registration", "/visits/" + visit + "/slip?size=a5"},
		{"doctor", "/queue"},
		{"doctor", "/queue/MED"},
		{"admin", "/users"},
		{"admin", "/status"},
		{"auditor", "/audit"},
		{"auditor", "/audit?user=registration"},
		{"doctor", "/register"}, // the 403 page
	}
	fontSize := len(mustStatic(t, s, "fonts/NotoSansDevanagari-Regular.woff2"))
	for _, lang := range []string{"en", "hi"} {
		for _, pg := range pages {
			t.Run(lang+pg.path, func(t *testing.T) {
				b := users[pg.user]
				b.get("/lang/" + lang)
				p := b.get(pg.path)
				if p.status != http.StatusOK && p.status != http.StatusForbidden {
					t.Fatalf("status %d: %s", p.status, p.body)
				}
				total := len(p.body) + subresources(t, s, p.body)
				if strings.ContainsAny(p.body, "अआइउएकखगघचछजझटठडढणतथदधनपफबभमयरलवशसह") {
					total += fontSize
				}
				t.Logf("%s %s: %d bytes of HTML, %d in all", lang, pg.path, len(p.body), total)
				if total > limit {
					t.Errorf("%d bytes, over %d", total, limit)
				}
			})
		}
	}
	t.Run("DuplicateWarning", func(t *testing.T) {
		must(t, dupPage, http.StatusOK, "This patient may already be registered")
		if n := len(dupPage.body) + subresources(t, s, dupPage.body); n > limit {
			t.Errorf("%d bytes, over %d", n, limit)
		}
	})
}

func mustQueue(t *testing.T, s *site) []opd.QueueEntry {
	t.Helper()
	q, err := opd.Queue(context.Background(), s.h.Node.DB(), "MED", kavach.Day(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func mustStatic(t *testing.T, s *site, name string) []byte {
	t.Helper()
	p := s.browser(t).get("/static/" + name)
	if p.status != http.StatusOK {
		t.Fatalf("/static/%s: status %d", name, p.status)
	}
	return []byte(p.body)
}

var staticRefRE = regexp.MustCompile(`(?:href|src)="/static/([^"?]+)`)

// subresources adds up the static files a page links.
func subresources(t *testing.T, s *site, body string) int {
	n := 0
	for _, m := range staticRefRE.FindAllStringSubmatch(body, -1) {
		n += len(mustStatic(t, s, m[1]))
	}
	return n
}

// TestStatic checks the cache headers that keep a counter PC from fetching
// the stylesheet on every page.
func TestStatic(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	p := b.get(s.ws.StaticURL("kavach.css"))
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/css") ||
		!strings.Contains(p.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("status %d, type %q, cache %q", p.status, p.header.Get("Content-Type"), p.header.Get("Cache-Control"))
	}
	must(t, b.get("/static/nothing.css"), http.StatusNotFound)
	must(t, b.get("/static/..%2fpages.go"), http.StatusNotFound)
	must(t, b.get("/static/"), http.StatusNotFound)
}

// TestRegisterDepartment: on the registration form the Department comes
// right after the Mobile, and starts on the department this counter last
// sent a patient to, as a new patient's visit card does (issue 13 item 5);
// a counter that never did starts on MED, and so does one whose cookie
// names no department.
func TestRegisterDepartment(t *testing.T) {
	s := newSite(t)
	reg := s.loggedIn(t, "registration")
	p := reg.get("/register")
	must(t, p, http.StatusOK, `<option value="MED" selected>`)
	order := []string{`id="name"`, `id="sex"`, `id="age_years"`, `id="date_of_birth"`, `id="mobile"`, `id="department"`, `id="guardian_relation"`, `id="address"`}
	last := -1
	for _, id := range order {
		i := strings.Index(p.body, id)
		if i < last {
			t.Errorf("%s comes before the field above it in %v", id, order)
		}
		last = i
	}

	form := patientForm("Radha Kumari", "9876500011", "29")
	form.Set("department", "PED")
	reg.register(form)
	must(t, reg.get("/register"), http.StatusOK, `<option value="PED" selected>`)
	must(t, reg.get("/back-entry"), http.StatusOK, `<option value="PED" selected>`)
	// A patient with no visit yet is offered it on their page too.
	uhid := s.registerOnly(t, "Meera Bai", "9876500012")
	must(t, reg.get("/patients/"+uhid), http.StatusOK, `<option value="PED" selected>`)
	// A visit opened from a patient's page counts too.
	if p := reg.post("/visits", url.Values{"uhid": {uhid}, "department": {"ENT"}}); p.status != http.StatusSeeOther {
		t.Fatalf("open visit: %d %s", p.status, p.body)
	}
	must(t, reg.get("/register"), http.StatusOK, `<option value="ENT" selected>`)
	// Another counter keeps its own.
	must(t, s.loggedIn(t, "registration").get("/register"), http.StatusOK, `<option value="MED" selected>`)
	// A cookie naming no department falls back to MED.
	u, _ := url.Parse(s.srv.URL)
	reg.c.Jar.SetCookies(u, []*http.Cookie{{Name: "kavach_dept", Value: "XYZ", Path: "/"}})
	must(t, reg.get("/register"), http.StatusOK, `<option value="MED" selected>`)
}
