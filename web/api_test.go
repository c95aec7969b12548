package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kavach"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"kavach/hospital"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
	"kavach/vault"
)

// The JSON API's tests run against the real thing: a hospital node on a
// SQLite file, served over HTTP and driven with net/http.
//
// Hashing passwords is most of the cost of a fresh node (argon2id, seven
// users), so TestAPI builds one seeded node with a logged-in session per
// user, closes it, and gives every group of cases its own copy of the data
// directory: each group starts from the same state and none sees another's
// patients, tokens or login failures.

const (
	adminPassword = "admin-secret-1"
	demoPassword  = "demo-secret-1"
)

var users = []string{"admin", "registration", "doctor", "lab", "pathologist", "billing", "accounts", "nurse", "auditor", "records"}

func TestAPI(t *testing.T) {
	tmpl := newTemplate(t)
	groups := []struct {
		name string
		run  func(*testing.T, *fixture)
	}{
		{"Login", testLogin},
		{"LoginBackoff", testLoginBackoff},
		{"LoginBackoffConcurrent", testLoginBackoffConcurrent},
		{"LoginBackoffProxy", testLoginBackoffProxy},
		{"Passwords", testPasswords},
		{"Logout", testLogout},
		{"Unauthenticated", testUnauthenticated},
		{"Roles", testRoles},
		{"Register", testRegister},
		{"RegisterInvalid", testRegisterInvalid},
		{"BadText", testBadText},
		{"Cosignature", testCosignature},
		{"Strict", testStrict},
		{"PossibleDuplicates", testPossibleDuplicates},
		{"DuplicatesEndpoint", testDuplicatesEndpoint},
		{"GetPatient", testGetPatient},
		{"Search", testSearch},
		{"Amend", testAmend},
		{"Merge", testMerge},
		{"Visits", testVisits},
		{"DowntimeKit", testDowntimeKit},
		{"Reconciliation", testReconciliation},
		{"VisitsConcurrent", testVisitsConcurrent},
		{"SlipPDF", testSlipPDF},
		{"Lab", testLab},
		{"LabDelta", testLabDelta},
		{"Billing", testBilling},
		{"Audit", testAudit},
		{"Checkpoint", testCheckpoint},
		{"Proofs", testProofs},
		{"Metrics", testMetrics},
		{"Users", testUsers},
		{"Durability", testDurability},
		{"InternalError", testInternalError},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, tmpl.fixture(t))
		})
	}
}

// template is a closed, seeded node to copy.
type template struct {
	dir    string
	tokens map[string]string // username → API token of a live session
}

func newTemplate(t *testing.T) *template {
	t.Helper()
	ctx := context.Background()
	tm := &template{dir: t.TempDir(), tokens: map[string]string{}}
	h, err := hospital.Open(ctx, node.Config{Dir: tm.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.EnsureAdmin(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	if err := h.SeedDemo(ctx, demoPassword); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		tok, _, err := h.Auth.Login(ctx, u, password(u), "api", "template")
		if err != nil {
			t.Fatalf("login %s: %v", u, err)
		}
		tm.tokens[u] = tok
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	return tm
}

func password(user string) string {
	if user == "admin" {
		return adminPassword
	}
	return demoPassword
}

// fixture is one group's node and server.
type fixture struct {
	dir    string
	h      *hospital.Hospital
	srv    *httptest.Server
	tokens map[string]string
	closed bool
	// stopped, once set, is the node's clock (the hospital's: its events,
	// its day, the login back-off) in Unix nanoseconds, so that a test
	// waits by moving it rather than by sleeping; 0 is the real clock.
	stopped atomic.Int64
}

// now is the fixture node's clock.
func (f *fixture) now() time.Time {
	if ns := f.stopped.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Now()
}

// stop stops the node's clock: it moves only with wait.
func (f *fixture) stop() { f.stopped.Store(time.Now().UnixNano()) }

// wait moves the stopped clock on by d.
func (f *fixture) wait(d time.Duration) { f.stopped.Add(int64(d)) }

func (tm *template) fixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), tokens: tm.tokens}
	copyDir(t, tm.dir, f.dir)
	f.open(t)
	t.Cleanup(f.close)
	return f
}

func (f *fixture) open(t *testing.T) {
	t.Helper()
	h, err := hospital.Open(context.Background(), node.Config{Dir: f.dir, Clock: f.now})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := h.Server(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.h, f.srv, f.closed = h, httptest.NewServer(ws), false
}

// close stops the server, then the node, as kavach serve does on SIGTERM.
func (f *fixture) close() {
	if f.closed {
		return
	}
	f.closed = true
	f.srv.Close()
	f.h.Close()
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	es, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// reply is an HTTP response with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// apiError is the one shape of every API error.
type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// send makes a request as user ("" for none). body is sent as is if it is a
// string, else as JSON. It does not use t, so goroutines may call it.
func (f *fixture) send(method, path, user string, body any) (reply, error) {
	tok := ""
	if user != "" {
		tok = f.tokens[user]
		if tok == "" {
			return reply{}, fmt.Errorf("no token for %q", user)
		}
	}
	return f.sendToken(method, path, tok, body)
}

func (f *fixture) sendToken(method, path, token string, body any) (reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		return reply{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (f *fixture) call(t *testing.T, method, path, user string, body any) reply {
	t.Helper()
	r, err := f.send(method, path, user, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// want checks the status and decodes a JSON answer into v (if not nil).
func (r reply) want(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if v == nil {
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// wantError checks an error answer's status, shape and code, and that it
// names the field (if field is not empty). It returns the error.
func (r reply) wantError(t *testing.T, status int, code, field string) apiError {
	t.Helper()
	var e apiError
	r.want(t, status, &e)
	if e.Error.Code != code {
		t.Fatalf("error code %q, want %q; body: %s", e.Error.Code, code, r.body)
	}
	if e.Error.Message == "" {
		t.Fatalf("error without a message: %s", r.body)
	}
	if field != "" && e.Error.Fields[field] == "" {
		t.Fatalf("error does not name field %q: %s", field, r.body)
	}
	return e
}

// patient is a patient as the API answers.
type patient struct {
	UHID               string    `json:"uhid"`
	Name               string    `json:"name"`
	Sex                string    `json:"sex"`
	DateOfBirth        string    `json:"date_of_birth"`
	DOBActual          bool      `json:"dob_actual"`
	AgeYears           int       `json:"age_years"`
	Mobile             string    `json:"mobile"`
	Address            string    `json:"address"`
	GuardianName       string    `json:"guardian_name"`
	State              string    `json:"state"`
	PIN                string    `json:"pin"`
	Category           string    `json:"category"`
	ABHA               string    `json:"abha_number"`
	MergedInto         string    `json:"merged_into"`
	RegisteredBy       string    `json:"registered_by"`
	PossibleDuplicates []patient `json:"possible_duplicates"`
	Reasons            []string  `json:"reasons"`
}

// newPatient is a registration with the INTERFACE.md fields alone.
func newPatient(name, sex string, age int, mobile string) map[string]any {
	return map[string]any{
		"name": name, "sex": sex, "age_years": age, "mobile": mobile,
		"address": "12 Gandhi Nagar, Jaipur", "guardian_name": "Mohan Lal",
	}
}

// register registers a patient as the registration user and returns the answer.
func (f *fixture) register(t *testing.T, in map[string]any) patient {
	t.Helper()
	var p patient
	f.call(t, "POST", "/api/v1/patients", "registration", in).want(t, http.StatusCreated, &p)
	if _, err := registration.ParseUHID(p.UHID); err != nil || len(p.UHID) > 12 {
		t.Fatalf("UHID %q: %v", p.UHID, err)
	}
	return p
}

func (f *fixture) events() uint64 { return f.h.Node.Status().Events }

func (f *fixture) patientCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.h.Node.DB().QueryRow(`SELECT count(*) FROM patients`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func uhids(ps []patient) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.UHID
	}
	return out
}

// wrongCheck returns the UHID with its check character changed.
func wrongCheck(uhid string) string {
	c := byte('A')
	if uhid[len(uhid)-1] == 'A' {
		c = 'B'
	}
	return uhid[:len(uhid)-1] + string(c)
}

func testLogin(t *testing.T, f *fixture) {
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"OK", map[string]string{"username": "admin", "password": adminPassword}, 200, "", ""},
		{"OKUpperCaseUsername", map[string]string{"username": "Doctor", "password": demoPassword}, 200, "", ""},
		{"ErrWrongPassword", map[string]string{"username": "billing", "password": "not-the-password"}, 401, "unauthorized", ""},
		{"ErrUnknownUser", map[string]string{"username": "nobody", "password": demoPassword}, 401, "unauthorized", ""},
		{"ErrMissingUsername", map[string]string{"password": demoPassword}, 400, "invalid", "username"},
		{"ErrMissingPassword", map[string]string{"username": "admin"}, 400, "invalid", "password"},
		{"ErrUnknownField", map[string]string{"user": "admin", "password": adminPassword}, 400, "invalid", "user"},
		{"ErrWrongType", `{"username":"admin","password":12345678}`, 400, "invalid", "password"},
		{"ErrNotJSON", "username=admin&password=x", 400, "invalid", ""},
		{"ErrEmptyBody", "", 400, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, "POST", "/api/v1/login", "", tt.body)
			if tt.status != 200 {
				r.wantError(t, tt.status, tt.code, tt.field)
				if tt.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			var out struct{ Token string }
			r.want(t, 200, &out)
			if len(out.Token) < 32 {
				t.Fatalf("token %q is too short", out.Token)
			}
			// The token works.
			rr, err := f.sendToken("GET", "/api/v1/departments", out.Token, nil)
			if err != nil || rr.status != 200 {
				t.Fatalf("the new token does not work: %v %d %s", err, rr.status, rr.body)
			}
		})
	}
}

func login(t *testing.T, f *fixture, user, pw string) reply {
	t.Helper()
	return f.call(t, "POST", "/api/v1/login", "", map[string]string{"username": user, "password": pw})
}

func testLoginBackoff(t *testing.T, f *fixture) {
	f.stop()
	for i := range 3 {
		e := login(t, f, "nurse", "wrong-password").wantError(t, 401, "unauthorized", "")
		if strings.Contains(e.Error.Message, "Too many") {
			t.Fatalf("attempt %d refused without checking: %s", i+1, e.Error.Message)
		}
	}
	t.Run("ErrRefusedWithRightPassword", func(t *testing.T) {
		e := login(t, f, "nurse", demoPassword).wantError(t, 401, "unauthorized", "")
		if !strings.Contains(e.Error.Message, "Too many") {
			t.Errorf("message %q does not say why", e.Error.Message)
		}
	})
	t.Run("OKOtherUserSameAddress", func(t *testing.T) {
		login(t, f, "lab", demoPassword).want(t, 200, nil)
	})
	t.Run("OKAfterWaiting", func(t *testing.T) {
		// The first wait is one second from the third failure: still
		// refused just before it ends, let through after.
		f.wait(900 * time.Millisecond)
		if e := login(t, f, "nurse", demoPassword).wantError(t, 401, "unauthorized", ""); !strings.Contains(e.Error.Message, "Too many") {
			t.Errorf("0.9 s after: %q", e.Error.Message)
		}
		f.wait(2 * time.Second)
		login(t, f, "nurse", demoPassword).want(t, 200, nil)
	})
}

// testLoginBackoffProxy: behind a trusted proxy each counter is its own
// client (X-Forwarded-For), so an attacker's guesses lock out the attacker,
// not the counters; one password tried against many users stops its
// sender; guesses from many addresses lock a user out of unknown computers
// only, until an administrator unlocks it; and a client that is not a
// trusted proxy cannot pick its address with the header.
func testLoginBackoffProxy(t *testing.T, f *fixture) {
	f.stop()
	ws, err := f.h.Server(nil, netip.MustParsePrefix("127.0.0.1/32"))
	if err != nil {
		t.Fatal(err)
	}
	proxied := httptest.NewServer(ws)
	defer proxied.Close()
	login := func(srv *httptest.Server, user, pw, client string) (int, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/login", bytes.NewReader(body))
		req.Header.Set("X-Forwarded-For", client)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e apiError
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error.Message
	}
	t.Run("OKCounterWhileAttackerWaits", func(t *testing.T) {
		for range 4 {
			login(proxied, "admin", "wrong-password", "10.0.0.66")
		}
		if code, msg := login(proxied, "admin", adminPassword, "10.0.0.66"); code != 401 || !strings.Contains(msg, "Too many") {
			t.Errorf("the attacker's own try: %d %q", code, msg)
		}
		if code, msg := login(proxied, "admin", adminPassword, "10.0.0.5"); code != 200 {
			t.Errorf("the counter: %d %q", code, msg)
		}
	})
	t.Run("ErrSpoofedHeaderIgnored", func(t *testing.T) {
		for i := range 4 {
			login(f.srv, "nurse", "wrong-password", fmt.Sprintf("10.9.9.%d", i))
		}
		if code, msg := login(f.srv, "nurse", demoPassword, "10.9.9.99"); code != 401 || !strings.Contains(msg, "Too many") {
			t.Errorf("a direct client naming another address: %d %q", code, msg)
		}
	})
	t.Run("ErrSpraying", func(t *testing.T) {
		for i := range 11 {
			login(proxied, fmt.Sprintf("clerk%d", i), "Winter2026!x", "10.0.0.77")
		}
		if code, msg := login(proxied, "lab", demoPassword, "10.0.0.77"); code != 401 || !strings.Contains(msg, "from this computer") {
			t.Errorf("after spraying, from the same computer: %d %q", code, msg)
		}
		if code, msg := login(proxied, "lab", demoPassword, "10.0.0.8"); code != 200 {
			t.Errorf("from another computer: %d %q", code, msg)
		}
	})
	t.Run("ErrCeilingThenUnlock", func(t *testing.T) {
		if code, msg := login(proxied, "doctor", demoPassword, "10.0.1.1"); code != 200 {
			t.Fatalf("the doctor's own computer: %d %q", code, msg)
		}
		for i := range 30 {
			login(proxied, "doctor", "wrong-password", fmt.Sprintf("10.0.2.%d", i))
		}
		if code, msg := login(proxied, "doctor", demoPassword, "10.0.3.1"); code != 401 || !strings.Contains(msg, "unlock") {
			t.Errorf("a new computer past the ceiling: %d %q", code, msg)
		}
		if code, msg := login(proxied, "doctor", demoPassword, "10.0.1.1"); code != 200 {
			t.Errorf("the doctor's own computer past the ceiling: %d %q", code, msg)
		}
		f.call(t, "POST", "/api/v1/users/doctor/unlock", "admin", nil).want(t, 200, nil)
		if code, msg := login(proxied, "doctor", demoPassword, "10.0.3.1"); code != 200 {
			t.Errorf("a new computer after the unlock: %d %q", code, msg)
		}
	})
	t.Run("SecureBehindProxy", func(t *testing.T) {
		get := func(srv *httptest.Server) *http.Response {
			req, _ := http.NewRequest("GET", srv.URL+"/login", nil)
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		secure := func(resp *http.Response) bool {
			for _, c := range resp.Cookies() {
				if c.Name == "kavach_login" {
					return c.Secure
				}
			}
			return false
		}
		if r := get(proxied); !secure(r) || r.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("behind the trusted proxy with https: cookie secure %v, HSTS %q", secure(r), r.Header.Get("Strict-Transport-Security"))
		}
		if r := get(f.srv); secure(r) || r.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("a direct client claiming https: cookie secure %v, HSTS %q", secure(r), r.Header.Get("Strict-Transport-Security"))
		}
	})
}

// testPasswords: a user changes their own password with the old one; an
// administrator's reset ends the user's sessions and lets the user do
// nothing but choose a new one; weak passwords are refused; replication
// tokens are listed and revoked.
func testPasswords(t *testing.T, f *fixture) {
	loginToken := func(user, pw string) (string, bool) {
		var out struct {
			Token      string `json:"token"`
			MustChange bool   `json:"must_change_password"`
		}
		login(t, f, user, pw).want(t, 200, &out)
		return out.Token, out.MustChange
	}
	t.Run("ErrWeak", func(t *testing.T) {
		for _, pw := range []string{"short", "password123", "qwertyuiop", "nurse"} {
			f.call(t, "POST", "/api/v1/users/nurse/reset-password", "admin", map[string]string{"password": pw}).wantError(t, 400, "invalid", "password")
		}
	})
	t.Run("OKResetThenChange", func(t *testing.T) {
		old := f.tokens["nurse"]
		f.call(t, "POST", "/api/v1/users/nurse/reset-password", "admin", map[string]string{"password": "Temporary-Pass-42"}).want(t, 200, nil)
		if r, _ := f.sendToken("GET", "/api/v1/departments", old, nil); r.status != 401 {
			t.Errorf("a session from before the reset: %d", r.status)
		}
		tok, must := loginToken("nurse", "Temporary-Pass-42")
		if !must {
			t.Error("the login after a reset does not say the password must change")
		}
		r, _ := f.sendToken("GET", "/api/v1/departments", tok, nil)
		if e := r.wantError(t, 403, "forbidden", ""); !strings.Contains(e.Error.Message, "new one") {
			t.Errorf("before choosing a new password: %q", e.Error.Message)
		}
		r, _ = f.sendToken("POST", "/api/v1/password", tok, map[string]string{"old_password": "wrong-one-entirely", "new_password": "Nurse-Own-Pass-77"})
		r.wantError(t, 400, "invalid", "old_password")
		r, _ = f.sendToken("POST", "/api/v1/password", tok, map[string]string{"old_password": "Temporary-Pass-42", "new_password": "Nurse-Own-Pass-77"})
		r.want(t, 200, nil)
		if r, _ := f.sendToken("GET", "/api/v1/departments", tok, nil); r.status != 200 {
			t.Errorf("after choosing a new password: %d %s", r.status, r.body)
		}
		if _, must := loginToken("nurse", "Nurse-Own-Pass-77"); must {
			t.Error("the user's own password still must change")
		}
		login(t, f, "nurse", "Temporary-Pass-42").wantError(t, 401, "unauthorized", "")
	})
	t.Run("ErrGuessingOldPassword", func(t *testing.T) {
		// A session left open does not let anyone guess the password: wrong
		// old passwords meet the login back-off.
		var out struct{ Token string }
		login(t, f, "lab", demoPassword).want(t, 200, &out)
		var msg string
		for i := range 6 {
			r, _ := f.sendToken("POST", "/api/v1/password", out.Token, map[string]string{"old_password": "guess-number-" + strconv.Itoa(i), "new_password": "Lab-Own-Pass-9"})
			var e apiError
			json.Unmarshal(r.body, &e)
			msg = e.Error.Message
		}
		if !strings.Contains(msg, "Too many") {
			t.Errorf("six wrong old passwords in a row: %q", msg)
		}
	})
	t.Run("Tokens", func(t *testing.T) {
		tok, err := node.NewReplicationToken(context.Background(), f.dir, "vault one", 0)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Tokens []struct{ ID, Name string }
		}
		f.call(t, "GET", "/api/v1/replication-tokens", "admin", nil).want(t, 200, &list)
		if len(list.Tokens) != 1 || list.Tokens[0].Name != "vault one" {
			t.Fatalf("tokens: %+v", list)
		}
		f.call(t, "POST", "/api/v1/replication-tokens/"+list.Tokens[0].ID+"/revoke", "admin", nil).want(t, 200, nil)
		if r, _ := f.sendToken("GET", "/api/v1/replicate/events?from=0", tok, nil); r.status != 401 {
			t.Errorf("a revoked token pulls: %d", r.status)
		}
	})
}

// Parallel guesses must not escape the back-off: no more than three of a
// burst may have their password checked.
func testLoginBackoffConcurrent(t *testing.T, f *fixture) {
	// The node's clock stands still: on a loaded machine a back-off could
	// otherwise run out between two of the parallel guesses.
	f.stop()
	const n = 12
	var wg sync.WaitGroup
	msgs := make([]string, n)
	for i := range n {
		wg.Go(func() {
			r, err := f.send("POST", "/api/v1/login", "", map[string]string{"username": "billing", "password": "guess-" + strconv.Itoa(i)})
			if err != nil {
				t.Error(err)
				return
			}
			var e apiError
			json.Unmarshal(r.body, &e)
			if r.status != 401 {
				t.Errorf("guess %d: status %d", i, r.status)
			}
			msgs[i] = e.Error.Message
		})
	}
	wg.Wait()
	checked := 0
	for _, m := range msgs {
		if !strings.Contains(m, "Too many") {
			checked++
		}
	}
	if checked > 3 {
		t.Errorf("%d of %d parallel guesses were checked, want at most 3", checked, n)
	}
	login(t, f, "billing", demoPassword).wantError(t, 401, "unauthorized", "")
}

func testLogout(t *testing.T, f *fixture) {
	var out struct{ Token string }
	login(t, f, "doctor", demoPassword).want(t, 200, &out)
	get := func() int {
		r, err := f.sendToken("GET", "/api/v1/departments", out.Token, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.status
	}
	if s := get(); s != 200 {
		t.Fatalf("before logout: %d", s)
	}
	r, err := f.sendToken("POST", "/api/v1/logout", out.Token, nil)
	if err != nil || r.status != http.StatusNoContent {
		t.Fatalf("logout: %v %d %s", err, r.status, r.body)
	}
	if s := get(); s != 401 {
		t.Fatalf("after logout: %d, want 401", s)
	}
	r, _ = f.sendToken("POST", "/api/v1/logout", out.Token, nil)
	r.wantError(t, 401, "unauthorized", "")
	// The template's doctor session is another session and lives on.
	f.call(t, "GET", "/api/v1/departments", "doctor", nil).want(t, 200, nil)
}

// testUnauthenticated covers what TestRouteAccess, which walks every route
// the router has, does not: the messages, other kinds of credentials and
// paths that are no route.
func testUnauthenticated(t *testing.T, f *fixture) {
	before := f.events()
	t.Run("ErrNoToken", func(t *testing.T) {
		f.call(t, "GET", "/api/v1/patients?q=ram", "", nil).wantError(t, 401, "unauthorized", "")
	})
	t.Run("ErrReplicationTokenAsUser", func(t *testing.T) {
		tok, err := node.NewReplicationToken(context.Background(), f.dir, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.sendToken("GET", "/api/v1/patients?q=ram", tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e := r.wantError(t, 401, "unauthorized", ""); !strings.Contains(e.Error.Message, "replication token") {
			t.Errorf("a replication token on the patient API: %q", e.Error.Message)
		}
		for _, c := range []struct{ token, want string }{{"", "is required"}, {"kvr_forged", "not valid"}} {
			r, err := f.sendToken("GET", "/api/v1/replicate/events?from=0", c.token, nil)
			if err != nil {
				t.Fatal(err)
			}
			if e := r.wantError(t, 401, "unauthorized", ""); !strings.Contains(e.Error.Message, c.want) {
				t.Errorf("replication with token %q: %q", c.token, e.Error.Message)
			}
		}
	})
	t.Run("ErrBasicAuth", func(t *testing.T) {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/departments", nil)
		req.SetBasicAuth("admin", adminPassword)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	for _, rt := range []struct{ name, method, path, user string }{
		{"ErrUnknownPath", "GET", "/api/v1/nothing-here", ""},
		{"ErrUnknownPathWithToken", "GET", "/api/v1/nothing-here", "admin"},
	} {
		t.Run(rt.name, func(t *testing.T) {
			f.call(t, rt.method, rt.path, rt.user, nil).wantError(t, 404, "not_found", "")
		})
	}
	t.Run("OKHealthz", func(t *testing.T) {
		r := f.call(t, "GET", "/healthz", "", nil)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	if after := f.events(); after != before {
		t.Errorf("unauthenticated requests changed the journal: %d → %d events", before, after)
	}
}

func testRoles(t *testing.T, f *fixture) {
	p := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	reg := newPatient("Sita Devi", "F", 30, "9876500002")
	type roleCase struct {
		name, user, method, path string
		body                     any
		status                   int
	}
	// TestRouteAccess checks every route against every role from the
	// router's own list; these are the answers with real records behind them.
	tests := []roleCase{
		{"ErrLabRegisters", "lab", "POST", "/api/v1/patients", reg, 403},
		{"ErrAuditorOpensRecord", "auditor", "GET", "/api/v1/patients/" + p.UHID, nil, 403},
		{"ErrAdminReadsAudit", "admin", "GET", "/api/v1/audit", nil, 403},
		{"OKAuditorReadsAudit", "auditor", "GET", "/api/v1/audit", nil, 200},
		{"OKLabSearches", "lab", "GET", "/api/v1/patients?q=ramesh", nil, 200},
		{"OKDoctorOpensRecord", "doctor", "GET", "/api/v1/patients/" + p.UHID, nil, 200},
		{"OKAuditorCheckpoint", "auditor", "GET", "/api/v1/checkpoint", nil, 200},
		{"OKAdminStatus", "admin", "GET", "/api/v1/status", nil, 200},
		{"OKAdminMetrics", "admin", "GET", "/metrics", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.events()
			r := f.call(t, tt.method, tt.path, tt.user, tt.body)
			if tt.status == 403 {
				r.wantError(t, 403, "forbidden", "")
				if after := f.events(); after != before {
					t.Errorf("a forbidden request changed the journal: %d → %d events", before, after)
				}
				return
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
		})
	}
}

func testRegister(t *testing.T, f *fixture) {
	dob := "1985-03-21"
	t.Run("OKInterfaceFieldsWithDateOfBirth", func(t *testing.T) {
		in := map[string]any{"name": "Ramesh Kumar", "sex": "M", "date_of_birth": dob, "mobile": "9876543210",
			"address": "12 Gandhi Nagar, Jaipur", "guardian_name": "Mohan Lal"}
		before := f.events()
		r := f.call(t, "POST", "/api/v1/patients", "registration", in)
		var p patient
		r.want(t, http.StatusCreated, &p)
		if _, err := registration.ParseUHID(p.UHID); err != nil || len(p.UHID) > 12 || p.UHID != strings.ToUpper(p.UHID) {
			t.Fatalf("UHID %q: %v", p.UHID, err)
		}
		if p.Name != "Ramesh Kumar" || p.Sex != "M" || p.DateOfBirth != dob || !p.DOBActual || p.Mobile != "9876543210" ||
			p.Address != "12 Gandhi Nagar, Jaipur" || p.GuardianName != "Mohan Lal" || p.Category != "general" || p.RegisteredBy != "registration" {
			t.Errorf("answer %+v", p)
		}
		var raw map[string]json.RawMessage
		json.Unmarshal(r.body, &raw)
		if string(raw["possible_duplicates"]) != "[]" {
			t.Errorf(`possible_duplicates = %s, want []`, raw["possible_duplicates"])
		}
		if f.events() <= before {
			t.Error("the registration is not in the journal")
		}
		got, err := registration.Get(context.Background(), f.h.Node.DB(), p.UHID)
		if err != nil || got.Name != p.Name {
			t.Fatalf("stored: %+v, %v", got, err)
		}
	})
	t.Run("OKAgeYears", func(t *testing.T) {
		p := f.register(t, newPatient("Sunita Sharma", "F", 34, "9876543211"))
		if p.AgeYears != 34 || p.DOBActual {
			t.Errorf("age_years %d, dob_actual %v; want 34, false", p.AgeYears, p.DOBActual)
		}
	})
	t.Run("OKStateByCode", func(t *testing.T) {
		for code, want := range map[string]string{"UP": "Uttar Pradesh", "dl": "Delhi", "Orissa": "Odisha"} {
			in := newPatient("Shyam Lal", "M", 52, "9876543217")
			in["state"] = code
			if p := f.register(t, in); p.State != want {
				t.Errorf("state %q stored as %q, want %q", code, p.State, want)
			}
		}
	})
	t.Run("OKDOBWithAgreeingAge", func(t *testing.T) {
		// Both given and in agreement, a birthday not yet come this year included.
		in := newPatient("Kamla Devi", "F", 39, "9876543218")
		in["date_of_birth"] = time.Now().In(kavach.Zone).AddDate(-40, 0, 1).Format("2006-01-02")
		if p := f.register(t, in); !p.DOBActual || p.AgeYears != 39 {
			t.Errorf("age_years %d, dob_actual %v", p.AgeYears, p.DOBActual)
		}
	})
	t.Run("OKBornTodayInHospitalZone", func(t *testing.T) {
		// Between 00:00 and 05:30 IST the UTC date is yesterday's.
		in := newPatient("B/O Sunita Devi", "F", 0, "9876543219")
		delete(in, "age_years")
		in["date_of_birth"] = time.Now().In(kavach.Zone).Format("2006-01-02")
		p := f.register(t, in)
		if p.AgeYears != 0 || !p.DOBActual {
			t.Errorf("age_years %d, dob_actual %v", p.AgeYears, p.DOBActual)
		}
	})
	t.Run("OKAgeZero", func(t *testing.T) {
		p := f.register(t, newPatient("Baby Sharma", "F", 0, "9876543212"))
		if p.AgeYears != 0 {
			t.Errorf("age_years %d", p.AgeYears)
		}
	})
	t.Run("OKSexLowerCase", func(t *testing.T) {
		p := f.register(t, newPatient("Kiran Bedi", "o", 50, "9876543213"))
		if p.Sex != "O" {
			t.Errorf("sex %q", p.Sex)
		}
	})
	t.Run("OKMobileWithCountryCode", func(t *testing.T) {
		p := f.register(t, newPatient("Arjun Singh", "M", 22, "+91 98765-43214"))
		if p.Mobile != "9876543214" {
			t.Errorf("mobile %q", p.Mobile)
		}
	})
	t.Run("OKABHAEchoedHyphenated", func(t *testing.T) {
		for _, abha := range []string{"12345678901234", "12-3456-7890-1235", "12 3456 7890 1236"} {
			in := newPatient("Meena Kumari", "F", 45, "9876543215")
			in["abha_number"] = abha
			p := f.register(t, in)
			want := registration.ABHADisplay(strings.NewReplacer("-", "", " ", "").Replace(abha))
			if p.ABHA != want || len(want) != 17 {
				t.Errorf("abha_number %q for %q, want %q", p.ABHA, abha, want)
			}
		}
	})
	t.Run("OKOptionalFields", func(t *testing.T) {
		in := newPatient("Gopal Krishnan", "M", 67, "9876543216")
		in["state"], in["pin"], in["category"], in["city"], in["guardian_relation"] = "kerala", "682001", "senior", "Kochi", "father"
		p := f.register(t, in)
		if p.State != "Kerala" || p.PIN != "682001" || p.Category != "senior" {
			t.Errorf("answer %+v", p)
		}
	})
	t.Run("OKUHIDsDiffer", func(t *testing.T) {
		a := f.register(t, newPatient("Asha Rani", "F", 30, "9876543217"))
		b := f.register(t, newPatient("Usha Rani", "F", 60, "9876543218"))
		if a.UHID == b.UHID {
			t.Fatalf("two patients got UHID %s", a.UHID)
		}
	})
}

func testRegisterInvalid(t *testing.T, f *fixture) {
	base := func() map[string]any { return newPatient("Ramesh Kumar", "M", 40, "9876543210") }
	with := func(k string, v any) map[string]any {
		m := base()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tomorrow := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"ErrNameEmpty", with("name", ""), "name"},
		{"ErrNameBlank", with("name", "   "), "name"},
		{"ErrNameMissing", with("name", nil), "name"},
		{"ErrNameTooLong", with("name", strings.Repeat("Ab", 51)), "name"},
		{"ErrNameDigits", with("name", "Ramesh 2"), "name"},
		{"ErrNameDevanagari", with("name", "रमेश"), "name"},
		{"ErrSexX", with("sex", "X"), "sex"},
		{"ErrSexMissing", with("sex", nil), "sex"},
		{"ErrDOBFuture", with("date_of_birth", tomorrow), "date_of_birth"},
		{"ErrDOBNotADate", with("date_of_birth", "21/03/1985"), "date_of_birth"},
		{"ErrDOBAndAgeMissing", with("age_years", nil), "date_of_birth"},
		{"ErrAgeDisagreesWithDOB", with("date_of_birth", "1960-01-15"), "age_years"}, // age 40 in base
		{"ErrAge200", with("age_years", 200), "age_years"},
		{"ErrAgeNegative", with("age_years", -1), "age_years"},
		{"ErrMobileTooShort", with("mobile", "98765"), "mobile"},
		{"ErrMobileTooLong", with("mobile", "98765432101"), "mobile"},
		{"ErrMobileStartsWith5", with("mobile", "5876543210"), "mobile"},
		{"ErrMobileLetters", with("mobile", "98765abcde"), "mobile"},
		{"ErrMobileMissing", with("mobile", nil), "mobile"},
		{"ErrAddressMissing", with("address", nil), "address"},
		{"ErrGuardianMissing", with("guardian_name", nil), "guardian_name"},
		{"ErrPINLeadingZero", with("pin", "012345"), "pin"},
		{"ErrPINFiveDigits", with("pin", "30201"), "pin"},
		{"ErrABHA13Digits", with("abha_number", "1234567890123"), "abha_number"},
		{"ErrABHALetters", with("abha_number", "12-3456-7890-12AB"), "abha_number"},
		{"ErrStateUnknown", with("state", "Atlantis"), "state"},
		{"ErrCategoryUnknown", with("category", "vip"), "category"},
		{"ErrSeniorTooYoung", with("category", "senior"), "category"},
		{"ErrUnknownField", with("nickname", "Ramu"), "nickname"},
		{"ErrWrongTypeAge", with("age_years", "forty"), "age_years"},
		{"ErrWrongTypeName", with("name", 42), "name"},
		{"ErrWrongTypeMobile", with("mobile", 9876543210), "mobile"},
		{"ErrNotJSON", "name=Ramesh&sex=M", ""},
		{"ErrEmptyBody", "", ""},
		{"ErrArray", "[]", ""},
		{"ErrSecondObject", `{"name":"Ramesh Kumar","sex":"M","age_years":40,"mobile":"9876543210","address":"Jaipur","guardian_name":"Mohan Lal"} {"name":"Sita"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, count := f.events(), f.patientCount(t)
			r := f.call(t, "POST", "/api/v1/patients", "registration", tt.body)
			e := r.wantError(t, 400, "invalid", tt.field)
			if strings.Contains(e.Error.Message, "Go ") || strings.Contains(e.Error.Message, "registration.") {
				t.Errorf("message %q speaks Go", e.Error.Message)
			}
			if got := f.events(); got != events {
				t.Errorf("journal grew from %d to %d events", events, got)
			}
			if got := f.patientCount(t); got != count {
				t.Errorf("patients grew from %d to %d", count, got)
			}
		})
	}
	t.Run("ErrWrongTypeSaysWhatItMustBe", func(t *testing.T) {
		e := f.call(t, "POST", "/api/v1/patients", "registration", with("age_years", "forty")).wantError(t, 400, "invalid", "age_years")
		if got := e.Error.Fields["age_years"]; got != "must be a whole number" {
			t.Errorf("age_years: %q", got)
		}
		e = f.call(t, "POST", "/api/v1/patients", "registration", with("mobile", 9876543210)).wantError(t, 400, "invalid", "mobile")
		if got := e.Error.Fields["mobile"]; got != "must be text (a JSON string)" {
			t.Errorf("mobile: %q", got)
		}
	})
	t.Run("ErrEveryBadFieldNamed", func(t *testing.T) {
		in := base()
		in["name"], in["sex"], in["mobile"], in["pin"] = "", "X", "123", "012345"
		e := f.call(t, "POST", "/api/v1/patients", "registration", in).wantError(t, 400, "invalid", "name")
		for _, k := range []string{"name", "sex", "mobile", "pin"} {
			if e.Error.Fields[k] == "" {
				t.Errorf("field %s not named: %v", k, e.Error.Fields)
			}
		}
	})
	t.Run("StatusEventsUnchanged", func(t *testing.T) {
		var st struct{ Events uint64 }
		f.call(t, "GET", "/api/v1/status", "admin", nil).want(t, 200, &st)
		f.call(t, "POST", "/api/v1/patients", "registration", with("mobile", "5876543210")).wantError(t, 400, "invalid", "mobile")
		var st2 struct{ Events uint64 }
		f.call(t, "GET", "/api/v1/status", "admin", nil).want(t, 200, &st2)
		if st.Events == 0 || st2.Events != st.Events {
			t.Errorf("events %d → %d", st.Events, st2.Events)
		}
	})
	if n := f.patientCount(t); n != 0 {
		t.Errorf("%d patients after only rejected registrations", n)
	}
}

// testBadText sends text no record may hold through every free-text field
// of the API: each is refused naming its field, and nothing is journaled.
// (Bytes that are not UTF-8 reach the API as U+FFFD: JSON decoding replaces
// them.)
func testBadText(t *testing.T, f *fixture) {
	p := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	q := f.register(t, newPatient("Suresh Kumar", "M", 42, "9876500002"))
	before := f.events()
	for _, tc := range []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"ErrAddressNotUTF8", "POST", "/api/v1/patients", `{"name":"Sita Devi","sex":"F","age_years":30,"mobile":"9876500003","address":"12 Gandhi Nagar` + "\xff" + `","guardian_name":"Ram Lal"}`, "address"},
		{"ErrAddressOverride", "POST", "/api/v1/patients", withField(newPatient("Sita Devi", "F", 30, "9876500003"), "address", "12 \u202eGandhi Nagar"), "address"},
		{"ErrCityControl", "POST", "/api/v1/patients", withField(newPatient("Sita Devi", "F", 30, "9876500003"), "city", "Delhi\x07"), "city"},
		{"ErrDistrictZeroWidth", "POST", "/api/v1/patients", withField(newPatient("Sita Devi", "F", 30, "9876500003"), "district", "South\u200bDelhi"), "district"},
		{"ErrCategoryIDBOM", "POST", "/api/v1/patients", withField(newPatient("Sita Devi", "F", 30, "9876500003"), "category_id", "\ufeffBPL-1"), "category_id"},
		{"ErrAmendAddress", "PATCH", "/api/v1/patients/" + p.UHID, map[string]any{"changes": map[string]string{"address": "A\u202eB"}, "reason": "moved"}, "address"},
		{"ErrAmendReason", "PATCH", "/api/v1/patients/" + p.UHID, `{"changes":{"mobile":"9876511111"},"reason":"moved` + "\xff" + `"}`, "reason"},
		{"ErrMergeReason", "POST", "/api/v1/patients/" + q.UHID + "/merge", map[string]string{"into": p.UHID, "reason": "same\u2066man"}, "reason"},
		{"ErrUserFullName", "POST", "/api/v1/users", map[string]string{"username": "clerk9", "full_name": "Clerk\u202e9", "role": "registration", "password": "long-enough-1"}, "full_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := "registration"
			if strings.Contains(tc.path, "/users") {
				user = "admin"
			}
			f.call(t, tc.method, tc.path, user, tc.body).wantError(t, 400, "invalid", tc.field)
		})
	}
	if after := f.events(); after != before {
		t.Errorf("refused text changed the journal: %d → %d events", before, after)
	}
}

// testCosignature: a vault's report of what it holds counts only from a
// vault the node's administrator registered, cosigned with its registered
// key; the replication token alone cannot make the node say it is backed
// up.
func testCosignature(t *testing.T, f *fixture) {
	ctx := context.Background()
	tok, err := node.NewReplicationToken(ctx, f.dir, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := f.h.Node.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := vault.GenerateKey("vault-a")
	if err != nil {
		t.Fatal(err)
	}
	forgedKey, _, err := vault.GenerateKey("vault-a")
	if err != nil {
		t.Fatal(err)
	}
	cosigned := func(skey string) string {
		c, err := vault.Cosign(skey, cp.Note)
		if err != nil {
			t.Fatal(err)
		}
		return string(c)
	}
	post := func(name, checkpoint string) reply {
		r, err := f.sendToken("POST", "/api/v1/replicate/cosignature", tok, map[string]string{"vault": name, "checkpoint": checkpoint})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	vaults := func() int {
		var st struct{ Vaults []any }
		f.call(t, "GET", "/api/v1/status", "admin", nil).want(t, 200, &st)
		return len(st.Vaults)
	}
	t.Run("ErrNotRegistered", func(t *testing.T) {
		post("vault-a", cosigned(skey)).wantError(t, 403, "forbidden", "vault")
	})
	if err := f.h.Node.RegisterVault(ctx, "admin", "vault-a", vkey); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrForgedCosignature", func(t *testing.T) {
		post("vault-a", cosigned(forgedKey)).wantError(t, 403, "forbidden", "checkpoint")
	})
	t.Run("ErrNoCosignature", func(t *testing.T) {
		post("vault-a", string(cp.Note)).wantError(t, 403, "forbidden", "checkpoint")
	})
	t.Run("ErrNameWithTab", func(t *testing.T) {
		post("vault\ta", cosigned(skey)).wantError(t, 400, "invalid", "vault")
	})
	if n := vaults(); n != 0 {
		t.Fatalf("refused reports listed %d vaults", n)
	}
	t.Run("OKRegistered", func(t *testing.T) {
		post("vault-a", cosigned(skey)).want(t, 200, nil)
		if n := vaults(); n != 1 {
			t.Fatalf("%d vaults listed, want 1", n)
		}
	})
	t.Run("OKRemoved", func(t *testing.T) {
		if err := f.h.Node.RemoveVault(ctx, "admin", "vault-a"); err != nil {
			t.Fatal(err)
		}
		if n := vaults(); n != 0 {
			t.Fatalf("a removed vault is still listed")
		}
		post("vault-a", cosigned(skey)).wantError(t, 403, "forbidden", "vault")
	})
}

// testStrict: requests the API must refuse plainly, changing nothing.
func testStrict(t *testing.T, f *fixture) {
	before := f.events()
	reg := `{"name":"Sita Devi","sex":"F","age_years":30,"mobile":"9876500003","address":"Rohini","guardian_name":"Ram Lal"`
	for _, tc := range []struct {
		name, method, path, user string
		body                     any
		status                   int
		code, field              string
	}{
		{"ErrDuplicateKey", "POST", "/api/v1/patients", "registration", reg + `,"mobile":"9876500004"}`, 400, "invalid", "mobile"},
		{"ErrKeyInOtherCase", "POST", "/api/v1/patients", "registration", reg + `,"Mobile":"9876500004"}`, 400, "invalid", "Mobile"},
		{"ErrWrongCaseOnly", "POST", "/api/v1/patients", "registration", `{"NAME":"Sita Devi","sex":"F","age_years":30,"mobile":"9876500003","address":"Rohini","guardian_name":"Ram Lal"}`, 400, "invalid", "NAME"},
		{"ErrDuplicateNestedKey", "PATCH", "/api/v1/patients/KA00000019", "registration", `{"changes":{"mobile":"9876511111","mobile":"9876522222"},"reason":"x"}`, 400, "invalid", "mobile"},
		{"ErrTooLarge", "POST", "/api/v1/patients", "registration", reg + `,"address":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large", ""},
		{"ErrMethod", "DELETE", "/api/v1/patients", "registration", nil, 405, "method", ""},
		{"ErrMethodLogin", "GET", "/api/v1/login", "", nil, 405, "method", ""},
		{"ErrSearchHundredsOfWords", "GET", "/api/v1/patients?q=" + strings.Repeat("ram+", 300), "registration", nil, 400, "invalid", "q"},
		{"ErrQueueDate", "GET", "/api/v1/opd-queue/MED?date=yesterday", "doctor", nil, 400, "invalid", "date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(t, tc.method, tc.path, tc.user, tc.body)
			r.wantError(t, tc.status, tc.code, tc.field)
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	t.Run("ErrReplicationLimit", func(t *testing.T) {
		tok, err := node.NewReplicationToken(context.Background(), f.dir, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := f.sendToken("GET", "/api/v1/replicate/events?from=0&limit=-5", tok, nil)
		r.wantError(t, 400, "invalid", "limit")
		for _, wait := range []string{"-1", "61", "NaN", "5s"} {
			r, _ := f.sendToken("GET", "/api/v1/replicate/events?from=0&wait="+wait, tok, nil)
			r.wantError(t, 400, "invalid", "wait")
		}
	})
	if after := f.events(); after != before {
		t.Errorf("refused requests changed the journal: %d → %d events", before, after)
	}
}

// withField returns a copy of in with one field set.
func withField(in map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range in {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func testPossibleDuplicates(t *testing.T, f *fixture) {
	laxmi := f.register(t, newPatient("Laxmi Devi", "F", 40, "9812300001"))
	mohd := f.register(t, newPatient("Mohd Salim", "M", 50, "9812300002"))
	withABHA := newPatient("Harish Chandra", "M", 50, "9812300009")
	withABHA["abha_number"] = "12-3456-7890-1234"
	abha := f.register(t, withABHA)
	sameABHA := newPatient("Harish Chandra Gupta", "M", 20, "9812300010")
	sameABHA["abha_number"] = "12345678901234"
	tests := []struct {
		name  string
		in    map[string]any
		want  string // a UHID that must be listed, or ""
		avoid string // a UHID that must not be
	}{
		{"OKSameMobile", newPatient("Suresh Yadav", "M", 20, "9812300001"), laxmi.UHID, mohd.UHID},
		{"OKSameMobileWithPrefix", newPatient("Ravi Yadav", "M", 25, "+91-98123-00001"), laxmi.UHID, ""},
		{"OKLakshmiForLaxmi", newPatient("Lakshmi Devi", "F", 42, "9812300003"), laxmi.UHID, mohd.UHID},
		{"OKMohammadForMohd", newPatient("Mohammad Salim", "M", 51, "9812300004"), mohd.UHID, laxmi.UHID},
		{"OKSimilarNameByDateOfBirth", map[string]any{"name": "Lakshmi Devi", "sex": "F",
			"date_of_birth": time.Now().AddDate(-39, 0, 0).Format("2006-01-02"), "mobile": "9812300005",
			"address": "Jaipur", "guardian_name": "Ram Lal"}, laxmi.UHID, ""},
		{"OKSimilarNameOtherAge", newPatient("Lakshmi Devi", "F", 10, "9812300006"), "", laxmi.UHID},
		{"OKOtherName", newPatient("Geeta Devi", "F", 40, "9812300007"), "", laxmi.UHID},
		{"OKSameABHA", sameABHA, abha.UHID, laxmi.UHID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.register(t, tt.in) // 201: a duplicate never blocks
			got := uhids(p.PossibleDuplicates)
			if tt.want != "" && !slices.Contains(got, tt.want) {
				t.Errorf("possible_duplicates %v does not list %s", got, tt.want)
			}
			if tt.avoid != "" && slices.Contains(got, tt.avoid) {
				t.Errorf("possible_duplicates %v lists %s", got, tt.avoid)
			}
			if slices.Contains(got, p.UHID) {
				t.Errorf("the new patient is listed as its own duplicate")
			}
			for _, d := range p.PossibleDuplicates {
				if d.Name == "" || d.Mobile == "" {
					t.Errorf("duplicate without name or mobile: %+v", d)
				}
			}
		})
	}
}

func testDuplicatesEndpoint(t *testing.T, f *fixture) {
	in := newPatient("Laxmi Devi", "F", 40, "9812300001")
	in["abha_number"] = "91-1234-5678-9012"
	laxmi := f.register(t, in)
	other := f.register(t, newPatient("Geeta Devi", "F", 40, "9812300002"))
	tests := []struct {
		name  string
		query url.Values
		want  string
		avoid string
	}{
		{"OKByMobile", url.Values{"mobile": {"9812300001"}}, laxmi.UHID, other.UHID},
		{"OKBySimilarNameAndAge", url.Values{"name": {"Lakshmi Devi"}, "age_years": {"41"}}, laxmi.UHID, other.UHID},
		{"OKBySimilarName", url.Values{"name": {"Lakshmi Devi"}}, laxmi.UHID, other.UHID},
		{"OKAgeTooFar", url.Values{"name": {"Lakshmi Devi"}, "age_years": {"70"}}, "", laxmi.UHID},
		{"OKNone", url.Values{"name": {"Zubin Mehta"}, "mobile": {"9999999999"}}, "", laxmi.UHID},
		{"OKByABHA", url.Values{"abha_number": {"91123456789012"}}, laxmi.UHID, other.UHID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Candidates []patient `json:"candidates"`
			}
			r := f.call(t, "GET", "/api/v1/patients/duplicates?"+tt.query.Encode(), "registration", nil)
			r.want(t, 200, &out)
			if out.Candidates == nil {
				t.Fatalf("candidates missing or null: %s", r.body)
			}
			got := uhids(out.Candidates)
			if tt.want != "" && !slices.Contains(got, tt.want) {
				t.Errorf("candidates %v do not list %s", got, tt.want)
			}
			if tt.avoid != "" && slices.Contains(got, tt.avoid) {
				t.Errorf("candidates %v list %s", got, tt.avoid)
			}
			for _, c := range out.Candidates {
				if len(c.Reasons) == 0 {
					t.Errorf("candidate %s without reasons", c.UHID)
				}
			}
		})
	}
	errs := []struct {
		name, query, field string
	}{
		{"ErrNoNameMobileOrABHA", "", "name"},
		{"ErrAgeNotANumber", "name=Laxmi&age_years=forty", "age_years"},
		{"ErrAge200", "name=Laxmi&age_years=200", "age_years"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			f.call(t, "GET", "/api/v1/patients/duplicates?"+tt.query, "registration", nil).wantError(t, 400, "invalid", tt.field)
		})
	}
}

func testGetPatient(t *testing.T, f *fixture) {
	p := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	unknown := idcode.Make(f.h.Node.Info().NodeCode, 9999999, 7) // valid, and no patient has it
	tests := []struct {
		name, path string
		status     int
	}{
		{"OK", p.UHID, 200},
		{"OKLowerCase", strings.ToLower(p.UHID), 200},
		{"OKDisplayForm", idcode.ShowUHID(p.UHID), 200},
		{"ErrUnknown", unknown, 404},
		{"ErrWrongCheckChar", wrongCheck(p.UHID), 404},
		{"ErrNotAUHID", "hello", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, "GET", "/api/v1/patients/"+url.PathEscape(tt.path), "registration", nil)
			if tt.status != 200 {
				r.wantError(t, tt.status, "not_found", "")
				return
			}
			var got patient
			r.want(t, 200, &got)
			if got.UHID != p.UHID || got.Name != "Ramesh Kumar" || got.AgeYears != 40 {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func testSearch(t *testing.T, f *fixture) {
	in := newPatient("Ramesh Kumar Sharma", "M", 40, "9876500001")
	in["abha_number"] = "91-1234-5678-9012"
	ram := f.register(t, in)
	sita := f.register(t, newPatient("Sita Ram", "F", 30, "9876500002"))
	kumar := f.register(t, newPatient("Kumar Ramanathan", "M", 30, "9876500003"))
	tests := []struct {
		name, q string
		want    []string // UHIDs that must be found
		avoid   []string // UHIDs that must not be
	}{
		{"OKByUHID", ram.UHID, []string{ram.UHID}, []string{sita.UHID}},
		{"OKByUHIDDisplay", strings.ToLower(idcode.ShowUHID(ram.UHID)), []string{ram.UHID}, nil},
		{"OKByMobile", "9876500001", []string{ram.UHID}, []string{sita.UHID}},
		{"OKByMobileWithPrefix", "+91 98765 00001", []string{ram.UHID}, nil},
		{"OKByNameParts", "ram kum", []string{ram.UHID}, []string{sita.UHID}},
		{"OKByNamePartsReversed", "kum ram", []string{ram.UHID, kumar.UHID}, []string{sita.UHID}},
		{"OKByOneWord", "sharma", []string{ram.UHID}, []string{sita.UHID, kumar.UHID}},
		{"OKByWordPrefix", "Ram", []string{ram.UHID, sita.UHID, kumar.UHID}, nil},
		{"OKByABHA", "91-1234-5678-9012", []string{ram.UHID}, nil},
		{"OKByABHADigits", "91123456789012", []string{ram.UHID}, nil},
		{"OKNoMatch", "zzzz", nil, []string{ram.UHID}},
		{"OKWrongCheckChar", wrongCheck(ram.UHID), nil, []string{ram.UHID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Patients []patient `json:"patients"`
			}
			r := f.call(t, "GET", "/api/v1/patients?q="+url.QueryEscape(tt.q), "registration", nil)
			r.want(t, 200, &out)
			if out.Patients == nil {
				t.Fatalf("patients missing or null: %s", r.body)
			}
			got := uhids(out.Patients)
			for _, u := range tt.want {
				if !slices.Contains(got, u) {
					t.Errorf("q=%q found %v, not %s", tt.q, got, u)
				}
			}
			for _, u := range tt.avoid {
				if slices.Contains(got, u) {
					t.Errorf("q=%q found %s", tt.q, u)
				}
			}
			for _, p := range out.Patients {
				if p.UHID == ram.UHID && p.ABHA != "91-1234-5678-9012" {
					t.Errorf("abha_number %q", p.ABHA)
				}
			}
		})
	}
	t.Run("ErrEmpty", func(t *testing.T) {
		f.call(t, "GET", "/api/v1/patients?q=", "registration", nil).wantError(t, 400, "invalid", "q")
	})
}

type historyOut struct {
	UHID    string `json:"uhid"`
	History []struct {
		Time    time.Time `json:"time"`
		Actor   string    `json:"actor"`
		Action  string    `json:"action"`
		Details string    `json:"details"`
	} `json:"history"`
	Visits []visit `json:"visits"`
}

func (f *fixture) history(t *testing.T, uhid string) historyOut {
	t.Helper()
	var h historyOut
	f.call(t, "GET", "/api/v1/patients/"+uhid+"/history", "registration", nil).want(t, 200, &h)
	return h
}

func testAmend(t *testing.T, f *fixture) {
	p := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	amend := func(changes map[string]string, reason string) map[string]any {
		return map[string]any{"changes": changes, "reason": reason}
	}
	t.Run("OKMobile", func(t *testing.T) {
		var got patient
		f.call(t, "PATCH", "/api/v1/patients/"+p.UHID, "registration",
			amend(map[string]string{"mobile": "+91 91234 56789"}, "patient changed phone")).want(t, 200, &got)
		if got.Mobile != "9123456789" || got.UHID != p.UHID {
			t.Fatalf("after amend: %+v", got)
		}
		h := f.history(t, p.UHID)
		if len(h.History) != 2 || h.History[0].Action != "registered" {
			t.Fatalf("history %+v", h.History)
		}
		last := h.History[1]
		if last.Action != "amended" || last.Actor != "registration" || !strings.Contains(last.Details, "9123456789") ||
			!strings.Contains(last.Details, "patient changed phone") || last.Time.IsZero() {
			t.Errorf("amendment in history: %+v", last)
		}
		var s struct{ Patients []patient }
		f.call(t, "GET", "/api/v1/patients?q=9123456789", "registration", nil).want(t, 200, &s)
		if !slices.Contains(uhids(s.Patients), p.UHID) {
			t.Errorf("search by the new mobile: %v", uhids(s.Patients))
		}
	})
	tests := []struct {
		name, uhid string
		body       any
		status     int
		code       string
		field      string
	}{
		{"ErrMissingReason", p.UHID, amend(map[string]string{"mobile": "9000000001"}, ""), 400, "invalid", "reason"},
		{"ErrBlankReason", p.UHID, amend(map[string]string{"mobile": "9000000001"}, "  "), 400, "invalid", "reason"},
		{"ErrLongReason", p.UHID, amend(map[string]string{"mobile": "9000000001"}, strings.Repeat("x", 201)), 400, "invalid", "reason"},
		{"ErrBadMobile", p.UHID, amend(map[string]string{"mobile": "12345"}, "typo"), 400, "invalid", "mobile"},
		{"ErrNotAmendable", p.UHID, amend(map[string]string{"uhid": "KA0000002X"}, "typo"), 400, "invalid", "uhid"},
		{"ErrNothingToChange", p.UHID, amend(map[string]string{"name": "Ramesh Kumar"}, "typo"), 400, "invalid", "changes"},
		{"ErrUnknownBodyField", p.UHID, map[string]any{"change": map[string]string{"mobile": "9000000001"}, "reason": "x"}, 400, "invalid", "change"},
		{"ErrWrongCheckChar", wrongCheck(p.UHID), amend(map[string]string{"mobile": "9000000001"}, "typo"), 400, "invalid", "uhid"},
		{"ErrUnknownPatient", idcode.Make(f.h.Node.Info().NodeCode, 9999999, 7), amend(map[string]string{"mobile": "9000000001"}, "typo"), 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.events()
			f.call(t, "PATCH", "/api/v1/patients/"+tt.uhid, "registration", tt.body).wantError(t, tt.status, tt.code, tt.field)
			if f.events() != before {
				t.Error("a rejected amendment changed the journal")
			}
		})
	}
	// The limit counts characters: these 150 of Devanagari are 450 bytes.
	t.Run("OKLongHindiReason", func(t *testing.T) {
		f.call(t, "PATCH", "/api/v1/patients/"+p.UHID, "registration",
			amend(map[string]string{"mobile": "9000000002"}, strings.Repeat("पता", 50))).want(t, 200, nil)
	})
}

func testMerge(t *testing.T, f *fixture) {
	keep := f.register(t, newPatient("Laxmi Devi", "F", 40, "9812300001"))
	dup := f.register(t, newPatient("Lakshmi Devi", "F", 41, "9812300002"))
	other := f.register(t, newPatient("Geeta Devi", "F", 40, "9812300003"))
	merge := func(into, reason string) map[string]string { return map[string]string{"into": into, "reason": reason} }
	errs := []struct {
		name, from string
		body       any
		status     int
		code       string
		field      string
	}{
		{"ErrMissingReason", dup.UHID, merge(keep.UHID, ""), 400, "invalid", "reason"},
		{"ErrIntoItself", dup.UHID, merge(dup.UHID, "same"), 400, "invalid", "into"},
		{"ErrIntoNotAUHID", dup.UHID, merge("nonsense", "same"), 400, "invalid", "into"},
		{"ErrIntoWrongCheckChar", dup.UHID, merge(wrongCheck(keep.UHID), "same"), 400, "invalid", "into"},
		{"ErrIntoMissing", dup.UHID, map[string]string{"reason": "same"}, 400, "invalid", "into"},
		{"ErrIntoUnknown", dup.UHID, merge(idcode.Make(f.h.Node.Info().NodeCode, 9999999, 7), "same"), 404, "not_found", ""},
		{"ErrFromUnknown", idcode.Make(f.h.Node.Info().NodeCode, 9999999, 7), merge(keep.UHID, "same"), 404, "not_found", ""},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			before := f.events()
			f.call(t, "POST", "/api/v1/patients/"+tt.from+"/merge", "registration", tt.body).wantError(t, tt.status, tt.code, tt.field)
			if f.events() != before {
				t.Error("a rejected merge changed the journal")
			}
		})
	}
	t.Run("OKTwoPeople", func(t *testing.T) {
		// The first clerk's merge waits; the same clerk cannot confirm it;
		// a second clerk does.
		var dupVisit visit
		f.call(t, "POST", "/api/v1/opd-visits", "registration", map[string]string{"uhid": dup.UHID, "department": "MED"}).want(t, 201, &dupVisit)
		var dupOrder labOrder
		f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": dup.UHID, "tests": []string{"CBC"}}).want(t, 201, &dupOrder)
		f.call(t, "POST", "/api/v1/patients/"+dup.UHID+"/merge", "registration", merge(keep.UHID, "same person, spelling")).want(t, 202, nil)
		var got patient
		f.call(t, "GET", "/api/v1/patients/"+dup.UHID, "registration", nil).want(t, 200, &got)
		if got.UHID != dup.UHID {
			t.Fatalf("a merge that waits for a second person was done: %+v", got)
		}
		f.call(t, "POST", "/api/v1/patients/"+dup.UHID+"/merge", "registration", merge(keep.UHID, "same person, spelling")).wantError(t, 409, "conflict", "")
		f.call(t, "POST", "/api/v1/users", "admin", map[string]string{"username": "clerk2", "role": "registration", "password": "clerk-two-pass-1"}).want(t, 201, nil)
		var out struct{ Token string }
		login(t, f, "clerk2", "clerk-two-pass-1").want(t, 200, &out)
		r, err := f.sendToken("POST", "/api/v1/patients/"+dup.UHID+"/merge", out.Token, merge(keep.UHID, "same person, spelling"))
		if err != nil {
			t.Fatal(err)
		}
		r.want(t, 200, nil)
		f.call(t, "GET", "/api/v1/patients/"+dup.UHID, "registration", nil).want(t, 200, &got)
		if got.UHID != keep.UHID || got.Name != "Laxmi Devi" {
			t.Errorf("GET the merged UHID returned %+v, want the surviving record %s", got, keep.UHID)
		}
		h := f.history(t, dup.UHID)
		if h.UHID != keep.UHID {
			t.Errorf("history of the merged UHID is of %s", h.UHID)
		}
		// The survivor's history lists the merged record's visits, under its UHID.
		if h := f.history(t, keep.UHID); len(h.Visits) != 1 || h.Visits[0].ID != dupVisit.ID || h.Visits[0].UHID != dup.UHID {
			t.Errorf("the survivor's visits: %+v, want %s under %s", h.Visits, dupVisit.ID, dup.UHID)
		}
		// And its lab reads list the merged record's orders.
		var l struct{ Orders []labOrder }
		f.call(t, "GET", "/api/v1/patients/"+keep.UHID+"/lab", "doctor", nil).want(t, 200, &l)
		if len(l.Orders) != 1 || l.Orders[0].OrderID != dupOrder.OrderID || l.Orders[0].UHID != dup.UHID {
			t.Errorf("the survivor's lab orders: %+v, want %s under %s", l.Orders, dupOrder.OrderID, dup.UHID)
		}
		var s struct{ Patients []patient }
		f.call(t, "GET", "/api/v1/patients?q=9812300002", "registration", nil).want(t, 200, &s)
		if slices.Contains(uhids(s.Patients), dup.UHID) || !slices.Equal(uhids(s.Patients), []string{keep.UHID}) {
			t.Errorf("search by the merged record's mobile found %v, want the survivor %s", uhids(s.Patients), keep.UHID)
		}
		var v visit
		f.call(t, "POST", "/api/v1/opd-visits", "registration", map[string]string{"uhid": dup.UHID, "department": "MED"}).want(t, 201, &v)
		if v.UHID != keep.UHID {
			t.Errorf("a visit for the merged UHID went to %s, want %s", v.UHID, keep.UHID)
		}
	})
	t.Run("OKUnmergeAndMergeAlone", func(t *testing.T) {
		// The records officer undoes the merge, and merges alone.
		f.call(t, "POST", "/api/v1/patients/"+dup.UHID+"/unmerge", "registration", map[string]string{"reason": "x"}).wantError(t, 403, "forbidden", "")
		f.call(t, "POST", "/api/v1/patients/"+dup.UHID+"/unmerge", "records", map[string]string{"reason": ""}).wantError(t, 400, "invalid", "reason")
		var got patient
		f.call(t, "POST", "/api/v1/patients/"+dup.UHID+"/unmerge", "records", map[string]string{"reason": "two people after all"}).want(t, 200, &got)
		if got.UHID != dup.UHID || got.MergedInto != "" {
			t.Fatalf("after the unmerge: %+v", got)
		}
		hs := f.history(t, dup.UHID)
		if last := hs.History[len(hs.History)-1]; last.Action != "unmerged" || last.Actor != "records" {
			t.Errorf("the unmerge in history: %+v", last)
		}
		f.call(t, "POST", "/api/v1/patients/"+dup.UHID+"/merge", "records", merge(keep.UHID, "same person after all")).want(t, 200, nil)
	})
	t.Run("ErrAlreadyMerged", func(t *testing.T) {
		f.call(t, "POST", "/api/v1/patients/"+dup.UHID+"/merge", "records", merge(other.UHID, "again")).wantError(t, 409, "conflict", "")
	})
	t.Run("ErrIntoMerged", func(t *testing.T) {
		f.call(t, "POST", "/api/v1/patients/"+other.UHID+"/merge", "records", merge(dup.UHID, "x")).wantError(t, 409, "conflict", "")
	})
	t.Run("ErrAmendMerged", func(t *testing.T) {
		f.call(t, "PATCH", "/api/v1/patients/"+dup.UHID, "registration",
			map[string]any{"changes": map[string]string{"mobile": "9000000001"}, "reason": "x"}).wantError(t, 409, "conflict", "")
	})
}

type visit struct {
	ID         string `json:"visit_id"`
	UHID       string `json:"uhid"`
	Department string `json:"department"`
	Token      int    `json:"token"`
	Date       string `json:"date"`
	Kind       string `json:"kind"`
}

func (f *fixture) openVisit(t *testing.T, uhid, dept string) visit {
	t.Helper()
	return f.openVisitBody(t, map[string]any{"uhid": uhid, "department": dept})
}

// openVisitAgain opens a second visit to a department the same day, on
// purpose: a new token, with a reason.
func (f *fixture) openVisitAgain(t *testing.T, uhid, dept string) visit {
	t.Helper()
	return f.openVisitBody(t, map[string]any{"uhid": uhid, "department": dept, "new_token": true, "reason": "Sent back by the doctor for a second opinion"})
}

func (f *fixture) openVisitBody(t *testing.T, body map[string]any) visit {
	t.Helper()
	var v visit
	r := f.call(t, "POST", "/api/v1/opd-visits", "registration", body)
	r.want(t, http.StatusCreated, &v)
	var raw map[string]json.RawMessage
	json.Unmarshal(r.body, &raw)
	for _, k := range []string{"visit_id", "uhid", "department", "token", "date"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("answer without %q: %s", k, r.body)
		}
	}
	return v
}

func testVisits(t *testing.T, f *fixture) {
	a := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	b := f.register(t, newPatient("Sita Devi", "F", 30, "9876500002"))
	today := time.Now().In(kavach.Zone).Format("2006-01-02")
	steps := []struct {
		name, uhid, dept string
		token            int
		kind, wantDept   string
		again            bool
	}{
		{"OKFirstOfMED", a.UHID, "MED", 1, "new", "MED", false},
		{"OKSecondOfMED", b.UHID, "MED", 2, "new", "MED", false},
		{"OKFirstOfSUR", a.UHID, "SUR", 1, "new", "SUR", false},
		{"OKRevisitMED", a.UHID, "MED", 3, "revisit", "MED", true},
		{"OKLowerCaseDept", b.UHID, "ent", 1, "new", "ENT", false},
		{"OKDisplayUHID", idcode.ShowUHID(b.UHID), "SUR", 2, "new", "SUR", false},
	}
	ids := map[string]bool{}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.again {
				// The same department the same day: the visit the patient
				// has (to reprint), unless a new token is asked for with a
				// reason; refusals write nothing.
				before := f.events()
				var dup struct {
					VisitID string `json:"visit_id"`
					Error   struct {
						Code    string `json:"code"`
						VisitID string `json:"visit_id"`
					} `json:"error"`
				}
				f.call(t, "POST", "/api/v1/opd-visits", "registration", map[string]any{"uhid": s.uhid, "department": s.dept}).want(t, http.StatusConflict, &dup)
				if dup.VisitID == "" || dup.VisitID != dup.Error.VisitID || dup.Error.Code != "conflict" {
					t.Fatalf("a second visit the same day: %+v", dup)
				}
				f.call(t, "POST", "/api/v1/opd-visits", "registration", map[string]any{"uhid": s.uhid, "department": s.dept, "new_token": true}).
					wantError(t, http.StatusBadRequest, "invalid", "reason")
				if f.events() != before {
					t.Fatal("a refused second visit wrote events")
				}
			}
			var v visit
			if s.again {
				v = f.openVisitAgain(t, s.uhid, s.dept)
			} else {
				v = f.openVisit(t, s.uhid, s.dept)
			}
			if v.Date != today {
				t.Skipf("the hospital's day changed during the test (%s, %s)", v.Date, today)
			}
			if v.Token != s.token || v.Kind != s.kind || v.Department != s.wantDept || v.UHID != idcode.Normalize(s.uhid) {
				t.Errorf("visit %+v, want token %d kind %s department %s", v, s.token, s.kind, s.wantDept)
			}
			if v.ID == "" || ids[v.ID] {
				t.Errorf("visit_id %q empty or reused", v.ID)
			}
			ids[v.ID] = true
			var got visit
			f.call(t, "GET", "/api/v1/opd-visits/"+v.ID, "doctor", nil).want(t, 200, &got)
			if got != v {
				t.Errorf("GET visit: %+v, want %+v", got, v)
			}
		})
	}
	errs := []struct {
		name  string
		body  any
		field string
	}{
		{"ErrUnknownDepartment", map[string]string{"uhid": a.UHID, "department": "XYZ"}, "department"},
		{"ErrMissingDepartment", map[string]string{"uhid": a.UHID}, "department"},
		{"ErrUnknownUHID", map[string]string{"uhid": idcode.Make(f.h.Node.Info().NodeCode, 9999999, 7), "department": "MED"}, "uhid"},
		{"ErrWrongCheckChar", map[string]string{"uhid": wrongCheck(a.UHID), "department": "MED"}, "uhid"},
		{"ErrMissingUHID", map[string]string{"department": "MED"}, "uhid"},
		{"ErrBadKind", map[string]string{"uhid": a.UHID, "department": "MED", "kind": "urgent"}, "kind"},
		{"ErrUnknownField", map[string]string{"uhid": a.UHID, "department": "MED", "doctor": "x"}, "doctor"},
		{"ErrWrongType", `{"uhid":1,"department":"MED"}`, "uhid"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			before := f.events()
			f.call(t, "POST", "/api/v1/opd-visits", "registration", tt.body).wantError(t, 400, "invalid", tt.field)
			if f.events() != before {
				t.Error("a rejected visit changed the journal")
			}
		})
	}
	t.Run("OKTokensContinueAfterErrors", func(t *testing.T) {
		c := f.register(t, newPatient("Gopal Das", "M", 61, "9876500003"))
		v := f.openVisit(t, c.UHID, "MED")
		if v.Date == today && v.Token != 4 {
			t.Errorf("token %d, want 4", v.Token)
		}
	})
	t.Run("ErrUnknownVisit", func(t *testing.T) {
		f.call(t, "GET", "/api/v1/opd-visits/KAV999999990", "doctor", nil).wantError(t, 404, "not_found", "")
	})
	t.Run("OKQueueAndSeen", func(t *testing.T) {
		var q struct {
			Department string `json:"department"`
			Queue      []struct {
				ID    string `json:"visit_id"`
				Token int    `json:"token"`
				Seen  string `json:"seen_at"`
				Name  string `json:"name"`
				Sex   string `json:"sex"`
				Age   string `json:"age"`
			} `json:"queue"`
		}
		f.call(t, "GET", "/api/v1/opd-queue/med", "doctor", nil).want(t, 200, &q)
		if q.Department != "MED" || len(q.Queue) != 4 || q.Queue[0].Token != 1 || q.Queue[3].Token != 4 {
			t.Fatalf("queue %+v", q)
		}
		if e := q.Queue[0]; e.Name == "" || e.Sex == "" || e.Age == "" {
			t.Errorf("queue entry without who the patient is: %+v", e)
		}
		f.call(t, "POST", "/api/v1/opd-visits/"+q.Queue[0].ID+"/seen", "registration", nil).wantError(t, 403, "forbidden", "")
		var seen struct {
			Seen   string `json:"seen_at"`
			SeenBy string `json:"seen_by"`
		}
		f.call(t, "POST", "/api/v1/opd-visits/"+q.Queue[0].ID+"/seen", "doctor", nil).want(t, 200, &seen)
		if seen.Seen == "" || seen.SeenBy != "doctor" {
			t.Errorf("after seen: %+v", seen)
		}
		f.call(t, "GET", "/api/v1/opd-queue/XYZ", "doctor", nil).wantError(t, 404, "not_found", "")
	})
}

func testVisitsConcurrent(t *testing.T, f *fixture) {
	const n = 50
	ps := make([]patient, 5)
	for i := range ps {
		ps[i] = f.register(t, newPatient("Patient "+string(rune('A'+i)), "F", 20+i, fmt.Sprintf("98000000%02d", i)))
	}
	vs := make([]visit, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := f.send("POST", "/api/v1/opd-visits", "registration", map[string]any{"uhid": ps[i%len(ps)].UHID, "department": "PED",
				"new_token": true, "reason": "load test"})
			if err != nil {
				t.Error(err)
				return
			}
			if r.status != http.StatusCreated {
				t.Errorf("visit %d: %d %s", i, r.status, r.body)
				return
			}
			json.Unmarshal(r.body, &vs[i])
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	tokens := make([]int, n)
	ids := map[string]bool{}
	for i, v := range vs {
		tokens[i] = v.Token
		ids[v.ID] = true
		if v.Date != vs[0].Date {
			t.Skip("the hospital's day changed during the test")
		}
	}
	slices.Sort(tokens)
	for i, tok := range tokens {
		if tok != i+1 {
			t.Fatalf("tokens %v, want 1 to %d once each", tokens, n)
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct visit ids for %d visits", len(ids), n)
	}
	var q struct {
		Queue []struct {
			Token int `json:"Token"`
		} `json:"queue"`
	}
	f.call(t, "GET", "/api/v1/opd-queue/PED", "doctor", nil).want(t, 200, &q)
	if len(q.Queue) != n {
		t.Errorf("queue has %d visits, want %d", len(q.Queue), n)
	}
}

func testSlipPDF(t *testing.T, f *fixture) {
	p := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	v := f.openVisit(t, p.UHID, "MED")
	tests := []struct {
		name, path string
		status     int
	}{
		{"OK", "/api/v1/opd-visits/" + v.ID + "/slip.pdf", 200},
		{"OKThermal", "/api/v1/opd-visits/" + v.ID + "/slip.pdf?size=80mm", 200},
		{"OKLowerCaseID", "/api/v1/opd-visits/" + strings.ToLower(v.ID) + "/slip.pdf", 200},
		{"ErrUnknownVisit", "/api/v1/opd-visits/KAV999999990/slip.pdf", 404},
		{"ErrBadSize", "/api/v1/opd-visits/" + v.ID + "/slip.pdf?size=a0", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.call(t, "GET", tt.path, "registration", nil)
			switch tt.status {
			case 404:
				r.wantError(t, 404, "not_found", "")
				return
			case 400:
				r.wantError(t, 400, "invalid", "size")
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/pdf" {
				t.Errorf("Content-Type %q", ct)
			}
			if !bytes.HasPrefix(r.body, []byte("%PDF")) || len(r.body) < 500 {
				t.Errorf("not a PDF: %q…", r.body[:min(len(r.body), 20)])
			}
		})
	}
	slip := f.call(t, "GET", "/api/v1/opd-visits/"+v.ID+"/slip.pdf", "registration", nil).body
	t.Run("OKContent", func(t *testing.T) {
		text := slipText(t, slip)
		for _, want := range []string{"Ramesh Kumar", idcode.ShowUHID(p.UHID), "MED", v.ID, "9876500001"} {
			if !strings.Contains(text, want) {
				t.Errorf("slip without %q:\n%s", want, text)
			}
		}
	})
	t.Run("OKBarcodeIsUHID", func(t *testing.T) {
		if got := slipBarcode(t, slip); got != p.UHID {
			t.Errorf("barcode %q, want %q", got, p.UHID)
		}
	})
	t.Run("OKAudited", func(t *testing.T) {
		es := f.audit(t, "patient="+p.UHID+"&user=registration")
		if len(es) == 0 || es[0].Action != "api.slip" {
			t.Errorf("printing the slip is not in the audit trail: %+v", es)
		}
		f.call(t, "GET", "/api/v1/opd-visits/"+v.ID, "doctor", nil).want(t, 200, nil)
		es = f.audit(t, "patient="+p.UHID+"&user=doctor")
		if len(es) == 0 || es[0].Action != "api.visit" {
			t.Errorf("reading the visit is not in the audit trail: %+v", es)
		}
	})
}

// slipText returns the text of a PDF, or skips without poppler-utils.
func slipText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext not found: install poppler-utils to read the slip")
	}
	cmd := exec.Command(tool, "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// slipBarcode rasterises the first page as a cheap scanner would and
// returns the Code 128 barcode on it, or skips without poppler-utils.
func slipBarcode(t *testing.T, pdf []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftoppm")
	if err != nil {
		t.Skip("pdftoppm not found: install poppler-utils to scan the slip")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "slip.pdf"), pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile",
		filepath.Join(dir, "slip.pdf"), filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := oned.NewCode128Reader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("no Code 128 barcode on the slip: %v", err)
	}
	return res.GetText()
}

type auditEntry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Patient string    `json:"patient"`
	Action  string    `json:"action"`
}

func (f *fixture) audit(t *testing.T, query string) []auditEntry {
	t.Helper()
	r := f.call(t, "GET", "/api/v1/audit?"+query, "auditor", nil)
	var raw struct {
		Entries []map[string]json.RawMessage `json:"entries"`
	}
	r.want(t, 200, &raw)
	if raw.Entries == nil {
		t.Fatalf("entries missing or null: %s", r.body)
	}
	var out struct{ Entries []auditEntry }
	json.Unmarshal(r.body, &out)
	for _, e := range raw.Entries {
		for _, k := range []string{"time", "user", "patient", "action"} {
			if _, ok := e[k]; !ok {
				t.Fatalf("entry without %q: %s", k, r.body)
			}
		}
	}
	return out.Entries
}

func testAudit(t *testing.T, f *fixture) {
	p := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	q := f.register(t, newPatient("Sita Devi", "F", 30, "9876500002"))
	f.call(t, "GET", "/api/v1/patients/"+p.UHID, "registration", nil).want(t, 200, nil)
	f.call(t, "GET", "/api/v1/patients/"+q.UHID, "doctor", nil).want(t, 200, nil)
	f.call(t, "GET", "/api/v1/patients?q=ramesh", "nurse", nil).want(t, 200, nil)

	t.Run("OKByPatient", func(t *testing.T) {
		es := f.audit(t, "patient="+p.UHID)
		if len(es) != 2 {
			t.Fatalf("entries %+v, want a search by nurse and a view by registration", es)
		}
		if es[0].User != "nurse" || es[0].Action != "api.search" || es[1].User != "registration" || es[1].Action != "api.patient" {
			t.Errorf("entries %+v, not newest first", es)
		}
		for _, e := range es {
			if e.Patient != p.UHID || e.Time.IsZero() || time.Since(e.Time) > time.Minute {
				t.Errorf("entry %+v", e)
			}
		}
		if es[0].Time.Before(es[1].Time) {
			t.Errorf("times not newest first: %v, %v", es[0].Time, es[1].Time)
		}
	})
	t.Run("OKByPatientDisplayForm", func(t *testing.T) {
		if es := f.audit(t, "patient="+url.QueryEscape(strings.ToLower(idcode.ShowUHID(p.UHID)))); len(es) != 2 {
			t.Errorf("entries %+v", es)
		}
	})
	t.Run("OKByUser", func(t *testing.T) {
		es := f.audit(t, "user=registration")
		if len(es) == 0 {
			t.Fatal("no entries for registration")
		}
		for _, e := range es {
			if e.User != "registration" {
				t.Errorf("entry of %s", e.User)
			}
		}
		if es[0].Patient != p.UHID || es[0].Action != "api.patient" {
			t.Errorf("newest entry %+v", es[0])
		}
	})
	t.Run("OKByPatientAndUser", func(t *testing.T) {
		es := f.audit(t, "patient="+q.UHID+"&user=doctor")
		if len(es) != 1 || es[0].User != "doctor" || es[0].Patient != q.UHID {
			t.Errorf("entries %+v", es)
		}
		if es := f.audit(t, "patient="+q.UHID+"&user=registration"); len(es) != 0 {
			t.Errorf("entries %+v, want none", es)
		}
	})
	t.Run("OKLimit", func(t *testing.T) {
		if es := f.audit(t, "limit=1"); len(es) != 1 {
			t.Errorf("%d entries", len(es))
		}
	})
	t.Run("OKAuditorChangesNothing", func(t *testing.T) {
		before := f.events()
		f.audit(t, "")
		if f.events() != before {
			t.Error("reading the audit trail changed the journal")
		}
	})
	t.Run("OKDuplicateWarningAudited", func(t *testing.T) {
		dup := f.register(t, newPatient("Ramesh Kumaar", "M", 41, "9876500001"))
		if !slices.Contains(uhids(dup.PossibleDuplicates), p.UHID) {
			t.Fatalf("no warning: %+v", dup.PossibleDuplicates)
		}
		es := f.audit(t, "patient="+p.UHID)
		if len(es) == 0 || es[0].Action != "duplicate-warning" || es[0].User != "registration" {
			t.Errorf("showing a possible duplicate is not in the audit trail: %+v", es)
		}
	})
	t.Run("ErrBadPatient", func(t *testing.T) {
		f.call(t, "GET", "/api/v1/audit?patient="+wrongCheck(p.UHID), "auditor", nil).wantError(t, 400, "invalid", "patient")
	})
	t.Run("ErrBadLimit", func(t *testing.T) {
		f.call(t, "GET", "/api/v1/audit?limit=0", "auditor", nil).wantError(t, 400, "invalid", "limit")
	})
}

// checkpoint fetches and verifies the latest checkpoint.
func (f *fixture) checkpoint(t *testing.T, user string) *log.Checkpoint {
	t.Helper()
	r := f.call(t, "GET", "/api/v1/checkpoint", user, nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	info := f.h.Node.Info()
	v, err := note.NewVerifier(info.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(r.body, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v\n%s", err, r.body)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] != info.Origin {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	if _, err := strconv.ParseUint(lines[1], 10, 64); err != nil {
		t.Errorf("size %q: %v", lines[1], err)
	}
	if root, err := base64.StdEncoding.DecodeString(lines[2]); err != nil || len(root) != 32 {
		t.Errorf("root %q: %v", lines[2], err)
	}
	cp, _, _, err := log.ParseCheckpoint(r.body, info.Origin, v)
	if err != nil {
		t.Fatal(err)
	}
	// Another key must not verify it.
	_, other, _ := note.GenerateKey(nil, info.Origin)
	if ov, err := note.NewVerifier(other); err == nil {
		if _, _, _, err := log.ParseCheckpoint(r.body, info.Origin, ov); err == nil {
			t.Error("the checkpoint verifies with another key")
		}
	}
	return cp
}

func testCheckpoint(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	if _, err := f.h.Node.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		t.Run("OK_"+u, func(t *testing.T) {
			cp := f.checkpoint(t, u)
			if cp.Size != f.events() {
				t.Errorf("checkpoint size %d, journal %d", cp.Size, f.events())
			}
			root, err := journal.RootAt(ctx, f.h.Node.DB(), cp.Size)
			if err != nil || !bytes.Equal(root, cp.Hash) {
				t.Errorf("checkpoint root differs from the tree's: %v", err)
			}
		})
	}
}

func (f *fixture) eventData(t *testing.T, idx uint64) []byte {
	t.Helper()
	var data []byte
	if err := f.h.Node.DB().QueryRow(`SELECT data FROM journal_events WHERE idx = ?`, idx).Scan(&data); err != nil {
		t.Fatal(err)
	}
	return data
}

type proofOut struct {
	Proof [][]byte `json:"proof"`
}

func testProofs(t *testing.T, f *fixture) {
	ctx := context.Background()
	if _, err := f.h.Node.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	cp1 := f.checkpoint(t, "auditor")
	for i := range 20 {
		f.register(t, newPatient("Patient "+string(rune('A'+i)), "M", 30, fmt.Sprintf("97000000%02d", i)))
	}
	if _, err := f.h.Node.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	cp2 := f.checkpoint(t, "auditor")
	if cp2.Size <= cp1.Size {
		t.Fatalf("checkpoint did not grow: %d → %d", cp1.Size, cp2.Size)
	}
	for _, idx := range []uint64{0, 1, cp1.Size - 1, cp1.Size, cp2.Size / 2, cp2.Size - 1} {
		t.Run(fmt.Sprintf("OKInclusion%d", idx), func(t *testing.T) {
			var p proofOut
			f.call(t, "GET", fmt.Sprintf("/api/v1/proof/inclusion?index=%d&size=%d", idx, cp2.Size), "auditor", nil).want(t, 200, &p)
			data := f.eventData(t, idx)
			if err := journal.VerifyInclusion(data, idx, cp2.Size, p.Proof, cp2.Hash); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", idx, cp2.Size, err)
			}
			data[len(data)/2] ^= 1
			if journal.VerifyInclusion(data, idx, cp2.Size, p.Proof, cp2.Hash) == nil {
				t.Error("a changed event verifies")
			}
		})
	}
	t.Run("OKInclusionInOlderCheckpoint", func(t *testing.T) {
		var p proofOut
		f.call(t, "GET", fmt.Sprintf("/api/v1/proof/inclusion?index=%d&size=%d", cp1.Size-1, cp1.Size), "doctor", nil).want(t, 200, &p)
		if err := journal.VerifyInclusion(f.eventData(t, cp1.Size-1), cp1.Size-1, cp1.Size, p.Proof, cp1.Hash); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OKConsistency", func(t *testing.T) {
		var p proofOut
		f.call(t, "GET", fmt.Sprintf("/api/v1/proof/consistency?from=%d&to=%d", cp1.Size, cp2.Size), "auditor", nil).want(t, 200, &p)
		if err := journal.VerifyConsistency(cp1.Size, cp2.Size, p.Proof, cp1.Hash, cp2.Hash); err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(cp1.Hash)
		bad[0] ^= 1
		if journal.VerifyConsistency(cp1.Size, cp2.Size, p.Proof, bad, cp2.Hash) == nil {
			t.Error("consistency verifies with a wrong old root")
		}
	})
	t.Run("OKConsistencySameSize", func(t *testing.T) {
		var p proofOut
		f.call(t, "GET", fmt.Sprintf("/api/v1/proof/consistency?from=%d&to=%d", cp2.Size, cp2.Size), "auditor", nil).want(t, 200, &p)
		if err := journal.VerifyConsistency(cp2.Size, cp2.Size, p.Proof, cp2.Hash, cp2.Hash); err != nil {
			t.Fatal(err)
		}
	})
	size := f.events()
	errs := []struct{ name, query, field string }{
		{"ErrInclusionSizeZero", "inclusion?index=0&size=0", "size"},
		{"ErrInclusionBeyondJournal", fmt.Sprintf("inclusion?index=0&size=%d", size+1), "size"},
		{"ErrInclusionIndexBeyondSize", fmt.Sprintf("inclusion?index=%d&size=%d", size, size), "index"},
		{"ErrInclusionNotANumber", "inclusion?index=x&size=3", "index"},
		{"ErrInclusionMissing", "inclusion", "index"},
		{"ErrConsistencyBackwards", fmt.Sprintf("consistency?from=%d&to=%d", cp2.Size, cp1.Size), "from"},
		{"ErrConsistencyBeyondJournal", fmt.Sprintf("consistency?from=1&to=%d", size+1), "size"},
		{"ErrConsistencyNegative", "consistency?from=-1&to=3", "from"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			f.call(t, "GET", "/api/v1/proof/"+tt.query, "auditor", nil).wantError(t, 400, "invalid", tt.field)
		})
	}
}

func testMetrics(t *testing.T, f *fixture) {
	f.call(t, "GET", "/api/v1/departments", "registration", nil).want(t, 200, nil)
	r := f.call(t, "GET", "/metrics", "admin", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	body := string(r.body)
	for _, want := range []string{
		"kavach_http_request_duration_seconds_bucket{",
		`route="GET /api/v1/departments"`,
		`le="+Inf"`,
		"kavach_http_request_duration_seconds_count",
		"# TYPE kavach_journal_events gauge",
		"kavach_journal_events " + strconv.FormatUint(f.events(), 10),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics without %q:\n%s", want, body)
		}
	}
	var st struct {
		Events   uint64 `json:"events"`
		Origin   string `json:"origin"`
		Verifier string `json:"verifier"`
	}
	f.call(t, "GET", "/api/v1/status", "admin", nil).want(t, 200, &st)
	if info := f.h.Node.Info(); st.Events != f.events() || st.Origin != info.Origin || st.Verifier != info.Verifier {
		t.Errorf("status %+v", st)
	}
	t.Run("Parses", func(t *testing.T) {
		// A vault reports what it holds: its gauges join the scrape, and a
		// name that would break the format cannot be registered.
		ctx := context.Background()
		for _, name := range []string{"vault\tx", "vault\x00x", "vault\u202ex", "vault x", `vault"x`, "vault\nx"} {
			_, key, _ := vault.GenerateKey("vault-ok")
			if err := f.h.Node.RegisterVault(ctx, "admin", name, key); kavach.ErrorCode(err) != kavach.EINVALID {
				t.Errorf("vault name %q: %v", name, err)
			}
		}
		skey, vkey, err := vault.GenerateKey("vault-ok.example_1")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.h.Node.RegisterVault(ctx, "admin", "vault-ok.example_1", vkey); err != nil {
			t.Fatal(err)
		}
		cp, err := f.h.Node.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cosigned, err := vault.Cosign(skey, cp.Note)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.h.Node.RecordCosignature(ctx, "vault-ok.example_1", cosigned); err != nil {
			t.Fatal(err)
		}
		r := f.call(t, "GET", "/metrics", "admin", nil)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("the scrape does not parse: %v\n%s", err, r.body)
		}
		for _, name := range []string{"kavach_journal_events", "kavach_http_request_duration_seconds", "kavach_vault_backed_up_events",
			"kavach_vault_unbacked_events", "kavach_vault_unbacked_seconds", "kavach_vault_seconds_since_backup", "go_goroutines", "process_open_fds"} {
			if families[name] == nil {
				t.Errorf("no %s in the scrape", name)
			}
		}
		if m := families["kavach_vault_backed_up_events"]; m != nil {
			if l := m.Metric[0].GetLabel(); len(l) != 1 || l[0].GetValue() != "vault-ok.example_1" || m.Metric[0].GetGauge().GetValue() != float64(cp.Size) {
				t.Errorf("kavach_vault_backed_up_events: %v", m.Metric)
			}
		}
	})
}

func testUsers(t *testing.T, f *fixture) {
	clerk := map[string]string{"username": "clerk2", "full_name": "Second Clerk", "role": "registration", "password": "clerk-secret-1"}
	t.Run("OKAdd", func(t *testing.T) {
		f.call(t, "POST", "/api/v1/users", "admin", clerk).want(t, http.StatusCreated, nil)
		var us struct {
			Users []struct{ Username, Role string }
		}
		f.call(t, "GET", "/api/v1/users", "admin", nil).want(t, 200, &us)
		if !slices.ContainsFunc(us.Users, func(u struct{ Username, Role string }) bool {
			return u.Username == "clerk2" && u.Role == "registration"
		}) {
			t.Errorf("users %+v", us.Users)
		}
	})
	errs := []struct {
		name   string
		body   map[string]string
		status int
		code   string
		field  string
	}{
		{"ErrTaken", clerk, 409, "conflict", "username"},
		{"ErrBadRole", map[string]string{"username": "clerk3", "role": "king", "password": "clerk-secret-1"}, 400, "invalid", "role"},
		{"ErrShortPassword", map[string]string{"username": "clerk3", "role": "lab", "password": "short"}, 400, "invalid", "password"},
		{"ErrBadUsername", map[string]string{"username": "Clerk 3!", "role": "lab", "password": "clerk-secret-1"}, 400, "invalid", "username"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			f.call(t, "POST", "/api/v1/users", "admin", tt.body).wantError(t, tt.status, tt.code, tt.field)
		})
	}
	t.Run("OKDisableEndsSessions", func(t *testing.T) {
		var out struct{ Token string }
		login(t, f, "clerk2", "clerk-secret-1").want(t, 200, &out)
		r, _ := f.sendToken("POST", "/api/v1/patients", out.Token, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
		r.want(t, http.StatusCreated, nil)
		f.call(t, "POST", "/api/v1/users/clerk2/disable", "admin", nil).want(t, 200, nil)
		r, _ = f.sendToken("GET", "/api/v1/departments", out.Token, nil)
		r.wantError(t, 401, "unauthorized", "")
		login(t, f, "clerk2", "clerk-secret-1").wantError(t, 401, "unauthorized", "")
	})
	t.Run("ErrDisableSelf", func(t *testing.T) {
		f.call(t, "POST", "/api/v1/users/admin/disable", "admin", nil).wantError(t, 400, "invalid", "username")
	})
	t.Run("ErrDisableUnknown", func(t *testing.T) {
		f.call(t, "POST", "/api/v1/users/nobody/disable", "admin", nil).wantError(t, 404, "not_found", "username")
	})
}

// An internal error says so and nothing more: no SQL, no paths, no Go errors.
func testInternalError(t *testing.T, f *fixture) {
	f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	f.h.Node.Close() // the database goes away under the running server
	for _, tt := range []struct{ name, path string }{
		{"ErrInternalSearch", "/api/v1/patients?q=ramesh"},
		{"ErrInternalDepartments", "/api/v1/departments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := f.call(t, "GET", tt.path, "registration", nil).wantError(t, 500, "internal", "")
			for _, leak := range []string{"sql", "database", "closed", ".go", "kavach.db"} {
				if strings.Contains(strings.ToLower(e.Error.Message), leak) {
					t.Errorf("message %q leaks %q", e.Error.Message, leak)
				}
			}
		})
	}
	t.Run("ErrHealthz", func(t *testing.T) {
		if r := f.call(t, "GET", "/healthz", "", nil); r.status != http.StatusServiceUnavailable {
			t.Errorf("healthz %d with the database closed", r.status)
		}
	})
}

func testDurability(t *testing.T, f *fixture) {
	ctx := context.Background()
	// Acknowledged registrations, some of them concurrent, then a close at once.
	first := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876500001"))
	v := f.openVisit(t, first.UHID, "MED")
	const n = 20
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := f.send("POST", "/api/v1/patients", "registration", newPatient("Patient "+string(rune('A'+i)), "F", 30, fmt.Sprintf("96000000%02d", i)))
			if err != nil || r.status != http.StatusCreated {
				t.Errorf("registration %d: %v %d %s", i, err, r.status, r.body)
				return
			}
			var p patient
			json.Unmarshal(r.body, &p)
			got[i] = p.UHID
		})
	}
	wg.Wait()
	events := f.events()
	f.close()

	f.open(t)
	if e := f.events(); e != events {
		t.Errorf("reopened with %d events, want %d", e, events)
	}
	// The session survives the restart, and so does every acknowledged write.
	var p patient
	f.call(t, "GET", "/api/v1/patients/"+first.UHID, "registration", nil).want(t, 200, &p)
	if p.Name != "Ramesh Kumar" {
		t.Errorf("after reopening: %+v", p)
	}
	for _, u := range got {
		if u == "" {
			continue
		}
		if _, err := registration.Get(ctx, f.h.Node.DB(), u); err != nil {
			t.Errorf("acknowledged patient %s lost: %v", u, err)
		}
	}
	var gv visit
	f.call(t, "GET", "/api/v1/opd-visits/"+v.ID, "registration", nil).want(t, 200, &gv)
	// Tokens carry on after a restart.
	if v2 := f.openVisitAgain(t, first.UHID, "MED"); v2.Date == v.Date && v2.Token != v.Token+1 {
		t.Errorf("token after restart %d, want %d", v2.Token, v.Token+1)
	}
	f.close()

	rep, err := node.Verify(ctx, f.dir, hospital.Services(), node.VerifyOptions{ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Faults) > 0 || rep.Events <= events || rep.Checkpoints == 0 {
		t.Errorf("verify: ok %v, %d events, faults %v", rep.OK, rep.Events, rep.Faults)
	}
}
