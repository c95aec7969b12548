package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"kavach/billing"
	"kavach/idcode"
	"kavach/lab"
	"kavach/node"
	"kavach/registration"
)

var (
	pageTagRE = regexp.MustCompile(`(?s)<(script|style)\b.*?</(script|style)>|<[^>]*>`)
	isoRE     = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	monthRE   = regexp.MustCompile(`\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}\b`)
	slashRE   = regexp.MustCompile(`\b\d{1,2}/\d{1,2}/\d{2,4}\b`)
	rawUHIDs  = regexp.MustCompile(`\b[A-Z]{2}[0-9]{7,9}[0-9A-Z]\b`)
	idRE      = regexp.MustCompile(`\b[A-Z]{2,3}-?[0-9]{4,10}-?[0-9A-Z]\b`)
	rupees    = regexp.MustCompile(`\bRs\.? ?[0-9]`)
)

// visibleText is what a page shows: its text without tags, scripts or
// styles, entities decoded. Attribute values (links, form fields' values)
// are not shown text.
func visibleText(body string) string {
	return html.UnescapeString(pageTagRE.ReplaceAllString(body, " "))
}

// TestOneFormat walks every page a patient's day touches -- registration,
// the slip, the queue, the lab from order to the public report page,
// billing, the audit trail, status -- in English and Hindi, and checks that
// each shows dates one way (05-12-2026, as the forms take them) and UHIDs
// one way (KA-0000012-7), and money in ₹ (issue 13 item 5).
func TestOneFormat(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	reg := s.loggedIn(t, "registration")
	visit := reg.register(patientForm("Kamla Devi", "9876512345", "52"))
	uhid := s.uhidOf(t, visit)
	other := s.registerOnly(t, "Kamla Devi", "9876512399")
	if err := s.h.Node.Do(ctx, "admin", func(tx *node.Tx) error {
		_, err := registration.MergeInto(tx, registration.Merge{From: other, Into: uhid, Reason: "same person"}, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The lab: an order, collected, received, resulted, released.
	var acc string
	do := func(user string, fn func(tx *node.Tx) error) {
		t.Helper()
		if err := s.h.Node.Do(ctx, user, fn); err != nil {
			t.Fatal(err)
		}
	}
	var orderID string
	do("doctor", func(tx *node.Tx) error {
		o, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, VisitID: visit, Tests: []string{"HB"}}, true)
		if err == nil {
			orderID = o.ID
		}
		return err
	})
	do("lab", func(tx *node.Tx) error {
		c, err := lab.Collect(tx, orderID)
		if err != nil {
			return err
		}
		acc = c.Samples[0].Accession
		if _, err := lab.Receive(tx, acc); err != nil {
			return err
		}
		_, _, err = lab.AddResults(tx, acc, lab.Entry{Results: []lab.ResultIn{{Analyte: "HGB", Value: "5.1"}}, Source: "manual"})
		return err
	})
	do("pathologist", func(tx *node.Tx) error {
		_, _, err := lab.Verify(tx, acc, "pathologist")
		return err
	})
	rs, err := lab.Reports(ctx, s.h.Node.DB(), acc)
	if err != nil || len(rs) != 1 {
		t.Fatalf("reports: %v %v", rs, err)
	}
	var receipt string
	do("billing", func(tx *node.Tx) error {
		r, err := billing.Pay(tx, billing.NewPayment{UHID: uhid, Paise: 100000, Mode: "cash", Counter: "C1"})
		if err == nil {
			receipt = r.ReceiptNo
		}
		return err
	})

	do("registration", func(tx *node.Tx) error {
		_, err := registration.ReserveKit(tx, 5)
		return err
	})

	users := map[string]*browser{"registration": reg}
	for _, u := range []string{"doctor", "lab", "pathologist", "billing", "auditor", "admin", "accounts"} {
		users[u] = s.loggedIn(t, u)
	}
	users["doctor"].post("/visits/"+visit+"/seen", url.Values{})
	public := s.browser(t)
	users["public"] = public
	pages := []struct{ user, path string }{
		{"registration", "/"},
		{"registration", "/search?q=kamla"},
		{"registration", "/search?q=9876512399"},
		{"registration", "/patients/" + uhid},
		{"registration", "/patients/" + other},
		{"registration", "/patients/" + uhid + "/amend"},
		{"registration", "/visits/" + visit + "/slip"},
		{"registration", "/visits/" + visit + "/slip?size=a5"},
		{"doctor", "/queue/MED"},
		{"doctor", "/patients/" + uhid},
		{"lab", "/lab/collect?uhid=" + uhid},
		{"lab", "/lab/labels?a=" + acc},
		{"lab", "/lab/samples/" + acc},
		{"lab", "/lab/criticals"},
		{"lab", "/lab/worklists"},
		{"pathologist", "/lab/verify"},
		{"billing", "/billing?uhid=" + uhid},
		{"billing", "/billing/receipts/" + receipt},
		{"billing", "/billing/day-end"},
		{"admin", "/billing/tariffs"},
		{"auditor", "/audit"},
		{"auditor", "/billing/takings"},
		{"admin", "/status"},
		{"admin", "/users"},
		{"registration", "/downtime-kit"},
		{"admin", "/reconciliation"},
		{"admin", "/lab/catalogue"},
		{"accounts", "/billing/refunds"},
		{"registration", "/back-entry"},
		{"public", lab.VerifyPath(rs[0].Origin, rs[0].Index, rs[0].Hash)},
	}
	// A message naming a UHID names it grouped, and in Hindi on a Hindi
	// page.
	t.Run("Messages", func(t *testing.T) {
		nobody := idcode.Make("KA", 99999, 7)
		for lang, want := range map[string]string{"en": "No patient with UHID " + idcode.ShowUHID(nobody) + ".", "hi": "UHID " + idcode.ShowUHID(nobody) + " का कोई रोगी नहीं है।"} {
			reg.get("/lang/" + lang)
			if p := reg.get("/patients/" + nobody); p.status != http.StatusNotFound || !strings.Contains(visibleText(p.body), want) {
				t.Errorf("%s: status %d, no %q in %s", lang, p.status, want, visibleText(p.body))
			}
		}
	})
	// Messages naming other identifiers have Hindi too, the identifier kept.
	t.Run("MessagesHindi", func(t *testing.T) {
		for _, m := range []string{
			"No patient with UHID KA-0000127-X.", "Sheet KA-9000001-H was entered already.",
			"This record was merged into KA-0000002-F; amend that one.", "No visit KAV00000012X.",
			"Visit KAV00000012X is another patient's.", "Order KAR00000003A is already cancelled.",
			"Order KAR00000003A has results; it cannot be cancelled.", "Order KAR00000003A has nothing left to collect.",
			"No lab order KAR00000003A.", "No sample KAL00001234X.", "Sample KAL00001234X has no released report.",
			"Sample KAL00001234X's order was cancelled.", "Sample KAL00001234X has a released report; it cannot be rejected.",
			"Sample KAL00001234X has not been received in the lab; scan it in first.", "No receipt KAP00000012W.",
			"Receipt KAP00000012W is another patient's.", "Refund KAF00000003Q needs no approval now.", "No refund KAF00000003Q.",
			"No charge KAC00000001011.", "Charge KAC00000001011 is already cancelled.",
			"Charge KAC00000001011 is not on this patient's account.", "Order KAR00000003A is another patient's.",
		} {
			id := idRE.FindString(m)
			if h, ok := s.ws.Hindi(m); !ok || !strings.Contains(h, id) {
				t.Errorf("%q: Hindi %q, %v", m, h, ok)
			}
		}
	})
	for _, lang := range []string{"en", "hi"} {
		for _, pg := range pages {
			t.Run(lang+pg.path, func(t *testing.T) {
				b := users[pg.user]
				b.get("/lang/" + lang)
				p := b.get(pg.path)
				if p.status != http.StatusOK {
					t.Fatalf("status %d: %s", p.status, p.body)
				}
				text := visibleText(p.body)
				for _, c := range []struct {
					re   *regexp.Regexp
					what string
				}{{isoRE, "an ISO date"}, {monthRE, "a date with a month's name"}, {slashRE, "a date with slashes"}, {rawUHIDs, "a UHID not grouped"}, {rupees, "money not in ₹"}} {
					for _, m := range c.re.FindAllString(text, 5) {
						i := strings.Index(text, m)
						t.Errorf("%s: %q in %q", c.what, m, strings.Join(strings.Fields(text[max(0, i-60):min(len(text), i+60)]), " "))
					}
				}
			})
		}
	}
}
