package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"kavach/hospital"
	"kavach/journal"
	"kavach/node"
	"kavach/upstream"
)

// siteOf enrols a site node of the central at url over HTTP, as kavach
// serve --upstream does, pulls the hospital's journals, and serves it; its
// link runs until the test ends.
func siteOf(t *testing.T, central *site, code string) (*site, *upstream.Link) {
	t.Helper()
	ctx := context.Background()
	tok, err := central.h.Node.AddSite(ctx, "admin", code, "Counter "+code, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	init, en, err := upstream.Prepare(ctx, dir, central.srv.URL, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hospital.Open(ctx, node.Config{Dir: dir, Init: init})
	if err != nil {
		t.Fatal(err)
	}
	if err := upstream.Join(ctx, h.Node, en, central.srv.URL); err != nil {
		t.Fatal(err)
	}
	_, cred, err := h.Node.UpstreamLink(ctx)
	if err != nil || cred == "" {
		t.Fatalf("credential %q: %v", cred, err)
	}
	link := upstream.New(h.Node, central.srv.URL, cred, nil)
	if err := link.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); link.Run(lctx) }()
	ws, err := h.SiteServer(nil, link.Status)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(func() {
		ws.BeginShutdown()
		cancel()
		<-done
		srv.Close()
		h.Close()
	})
	return &site{h: h, ws: ws, srv: srv}, link
}

func apiCall(t *testing.T, s *site, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func apiToken(t *testing.T, s *site, user string) string {
	t.Helper()
	code, b := apiCall(t, s, "POST", "/api/v1/login", "", map[string]string{"username": user, "password": testDemoPW})
	if code != 200 {
		t.Fatalf("login %s: %d %s", user, code, b)
	}
	var out struct{ Token string }
	json.Unmarshal(b, &out)
	return out.Token
}

type nodeStatus struct {
	Role     string
	Node     string
	Origins  map[string]uint64
	Upstream *node.LinkStatus
	Sites    []struct {
		Code      string
		Reachable bool
		Held      uint64
	}
}

func statusOf(t *testing.T, s *site, token string) nodeStatus {
	t.Helper()
	code, b := apiCall(t, s, "GET", "/api/v1/status", token, nil)
	if code != 200 {
		t.Fatalf("status: %d %s", code, b)
	}
	var st nodeStatus
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// eventually retries f until it holds, for up to 5 s.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSiteNode runs a site node against a central over HTTP: the central's
// users log in on the site, the status of both says how they are linked,
// a registration at the site reaches the central within a second, a site's
// credential pushes only its own events, a forged enrolment is refused,
// and with the central gone the site works on and says so on every page,
// in its status and in its metrics.
func TestSiteNode(t *testing.T) {
	central := newSite(t)
	kb, _ := siteOf(t, central, "KB")
	tok := apiToken(t, kb, "registration")
	ctok := apiToken(t, central, "registration")

	st := statusOf(t, kb, tok)
	if st.Role != "site" || st.Node != "KB" || st.Upstream == nil || !st.Upstream.Reachable || st.Origins["KA"] == 0 {
		t.Fatalf("site status: %+v", st)
	}
	cst := statusOf(t, central, ctok)
	if cst.Role != "central" || len(cst.Sites) != 1 || cst.Sites[0].Code != "KB" || !cst.Sites[0].Reachable {
		t.Fatalf("central status: %+v", cst)
	}

	start := time.Now()
	code, b := apiCall(t, kb, "POST", "/api/v1/patients", tok, map[string]any{"name": "Meena Kumari", "sex": "F", "age_years": 41,
		"mobile": "9810012345", "address": "Sector 9, Rohini", "guardian_name": "Suresh"})
	if code != 201 {
		t.Fatalf("register at the site: %d %s", code, b)
	}
	var p struct{ UHID string }
	json.Unmarshal(b, &p)
	if !strings.HasPrefix(p.UHID, "KB") {
		t.Fatalf("the site issued UHID %s", p.UHID)
	}
	eventually(t, "the registration at the central", func() bool {
		code, _ := apiCall(t, central, "GET", "/api/v1/patients/"+p.UHID, ctok, nil)
		return code == 200
	})
	if took := time.Since(start); took > time.Second {
		t.Errorf("replication took %s, more than a second", took)
	}

	t.Run("StatusPages", func(t *testing.T) {
		if pg := central.loggedIn(t, "admin").get("/status"); !strings.Contains(pg.body, `id="sites"`) || !strings.Contains(pg.body, "Counter KB") {
			t.Errorf("the central's status page lists no site:\n%s", pg.body)
		}
		if pg := kb.loggedIn(t, "admin").get("/status"); !strings.Contains(pg.body, `id="upstream"`) || !strings.Contains(pg.body, `id="origins"`) {
			t.Errorf("the site's status page shows no central:\n%s", pg.body)
		}
	})
	t.Run("CredentialPushesOwnEventsOnly", func(t *testing.T) {
		_, cred, _ := kb.h.Node.UpstreamLink(context.Background())
		code, b := apiCall(t, central, "POST", "/api/v1/replicate/push", cred, map[string]any{"origin": "KA", "from": 0, "events": []any{}})
		if code != 403 {
			t.Errorf("KB's credential pushing KA's events: %d %s", code, b)
		}
		code, _ = apiCall(t, central, "GET", "/api/v1/replicate/feed?have=KA:0", "kvs_forged", nil)
		if code != 401 {
			t.Errorf("a forged credential: %d", code)
		}
		as, _ := node.Alerts(context.Background(), central.h.Node.DB(), "KA", 10)
		if len(as) == 0 || as[0].Kind != node.AlertSync {
			t.Errorf("alerts: %+v", as)
		}
		// Every kind has a series, from 0, so that a rule on an increase
		// sees the first alert of a kind.
		_, lb := apiCall(t, central, "POST", "/api/v1/login", "", map[string]string{"username": "admin", "password": testAdminPW})
		var adm struct{ Token string }
		json.Unmarshal(lb, &adm)
		_, body := apiCall(t, central, "GET", "/metrics", adm.Token, nil)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("metrics: %v\n%s", err, body)
		}
		alerts := map[string]float64{}
		for _, m := range families["kavach_alerts"].GetMetric() {
			alerts[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
		for _, kind := range node.AlertKinds {
			if _, ok := alerts[kind]; !ok {
				t.Errorf("no kavach_alerts{kind=%q} series: %v", kind, alerts)
			}
		}
		if alerts[node.AlertSync] < 1 || alerts[node.AlertFork] != 0 {
			t.Errorf("kavach_alerts: %v", alerts)
		}
	})

	t.Run("ForgedEnrolment", func(t *testing.T) {
		_, vkey, _ := journal.GenerateKey("kavach/KVH/KZ")
		code, b := apiCall(t, central, "POST", "/api/v1/sites/enroll", "", map[string]string{
			"token": "kve_KVH.KZ.Zm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2Vk", "verifier": vkey})
		if code != 401 || !strings.Contains(string(b), "site add") {
			t.Errorf("forged enrolment: %d %s", code, b)
		}
	})

	t.Run("CentralDown", func(t *testing.T) {
		central.srv.CloseClientConnections()
		central.srv.Listener.Close()
		for i := range 3 {
			code, b := apiCall(t, kb, "POST", "/api/v1/patients", tok, map[string]any{"name": "Offline Patient", "sex": "M", "age_years": 20 + i,
				"mobile": "981001200" + string(rune('0'+i)), "address": "Sector 9, Rohini", "guardian_name": "Suresh"})
			if code != 201 {
				t.Fatalf("register with the central down: %d %s", code, b)
			}
		}
		eventually(t, "the site says the central is down", func() bool {
			st := statusOf(t, kb, tok)
			return st.Upstream != nil && !st.Upstream.Reachable && st.Upstream.Pending >= 3
		})
		b := kb.loggedIn(t, "registration")
		pg := b.get("/register")
		if !strings.Contains(pg.body, "Central node unreachable") || !strings.Contains(pg.body, "changes waiting to be sent") {
			t.Errorf("no banner on the site's page:\n%s", pg.body)
		}
		_, lb := apiCall(t, kb, "POST", "/api/v1/login", "", map[string]string{"username": "admin", "password": testAdminPW})
		var adm struct{ Token string }
		json.Unmarshal(lb, &adm)
		_, body := apiCall(t, kb, "GET", "/metrics", adm.Token, nil)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("metrics: %v\n%s", err, body)
		}
		if m := families["kavach_upstream_reachable"]; m == nil || m.Metric[0].GetGauge().GetValue() != 0 {
			t.Errorf("kavach_upstream_reachable: %v", m)
		}
		if m := families["kavach_upstream_pending_events"]; m == nil || m.Metric[0].GetGauge().GetValue() < 3 {
			t.Errorf("kavach_upstream_pending_events: %v", m)
		}
		if m := families["kavach_upstream_oldest_pending_seconds"]; m == nil || m.Metric[0].GetGauge().GetValue() <= 0 {
			t.Errorf("kavach_upstream_oldest_pending_seconds: %v", m)
		}
	})
}
