package audit

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kavach"
)

// actionRE finds the action codes the services pass to Viewed and Record.
var actionRE = regexp.MustCompile(`"((?:api|page|public)\.[a-z_.]+|duplicate-warning)"`)

// TestActionsInWords checks that every action a service records has words,
// and the words Hindi.
func TestActionsInWords(t *testing.T) {
	found := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == "." {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "audit.") {
			return nil
		}
		for _, m := range actionRE.FindAllStringSubmatch(string(b), -1) {
			found[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"api.patient", "page.slip", "page.queue", "api.sample", "page.account", "public.report", "duplicate-warning"} {
		if !found[a] {
			t.Errorf("the search for actions missed %q: %v", a, found)
		}
	}
	for a := range found {
		if _, ok := actions[a]; !ok {
			t.Errorf("no words for the action %q", a)
		}
	}
	for a, words := range actions {
		if _, ok := hindi[words]; !ok {
			t.Errorf("no Hindi for %q (%s)", words, a)
		}
	}
	if ActionText("page.slip") != "printed the OPD slip" || ActionText("page.unknown") != "page.unknown" {
		t.Errorf("ActionText: %q %q", ActionText("page.slip"), ActionText("page.unknown"))
	}
}

func TestParseDays(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02", s, kavach.Zone)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		from, to string
		f, t     time.Time
		errs     map[string]string
	}{
		{"", "", time.Time{}, time.Time{}, nil},
		{"2026-03-01", "", day("2026-03-01"), time.Time{}, nil},
		{" 2026-03-01 ", "2026-03-01", day("2026-03-01"), day("2026-03-02"), nil},
		{"", "2026-02-28", time.Time{}, day("2026-03-01"), nil},
		{"2026-03-02", "2026-03-01", day("2026-03-02"), day("2026-03-02"), map[string]string{"to": msgToBefore}},
		{"01-03-2026", "2/3/2026", day("2026-03-01"), day("2026-03-03"), nil}, // as the page shows a day
		{"2026/03/01", "2026-02-30", time.Time{}, time.Time{}, map[string]string{"from": msgNotDate, "to": msgNotDate}},
	} {
		f, to, errs := parseDays(c.from, c.to)
		if !f.Equal(c.f) || !to.Equal(c.t) || len(errs) != len(c.errs) {
			t.Errorf("parseDays(%q, %q) = %v %v %v", c.from, c.to, f, to, errs)
			continue
		}
		for k, v := range c.errs {
			if errs[k] != v {
				t.Errorf("parseDays(%q, %q): %s: %q, want %q", c.from, c.to, k, errs[k], v)
			}
		}
	}
	// A day is the hospital's: 00:30 IST on 2 March is 1 March in UTC.
	if f, _, _ := parseDays("2026-03-02", ""); f.UTC().Format(time.RFC3339) != "2026-03-01T18:30:00Z" {
		t.Errorf("from is not the hospital's day: %v", f.UTC())
	}
}
