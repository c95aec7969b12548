package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"kavach"
	"path"
	"strings"
	"sync"
	"time"

	"kavach/auth"
	"kavach/journal"
	"kavach/opd"
	"kavach/registration"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticVersion holds a short content hash per static file, appended to its
// URL so that a counter PC caches each file until it changes.
var staticVersion = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
})

// funcs are the template functions for one language. t translates a label
// into the page's language; hi always gives the Hindi, for the slip's
// labels that stand side by side.
func funcs(lang string) template.FuncMap {
	t := func(s string) string { return s }
	if lang == "hi" {
		t = hindiText
	}
	return template.FuncMap{
		"t":  t,
		"hi": hindiText,
		"static": func(name string) string {
			return "/static/" + name + "?v=" + staticVersion()[name]
		},
		"upper": strings.ToUpper,
		"uhid":  registration.UHIDDisplay,
		"abha":  registration.ABHADisplay,
		"when": func(tm time.Time) string {
			if tm.IsZero() {
				return ""
			}
			return tm.In(kavach.Zone).Format("02 Jan 2006, 15:04")
		},
		"day": func(tm time.Time) string {
			if tm.IsZero() {
				return ""
			}
			return tm.In(kavach.Zone).Format("02 Jan 2006")
		},
		"stamp": func(s string) string { // a journal time string
			tm, err := time.Parse(journal.TimeFormat, s)
			if err != nil {
				return s
			}
			return tm.In(kavach.Zone).Format("02 Jan 2006, 15:04")
		},
		"clock": func(s string) string {
			tm, err := time.Parse(journal.TimeFormat, s)
			if err != nil {
				return s
			}
			return tm.In(kavach.Zone).Format("15:04")
		},
		"dept": func(d opd.Department) string {
			if lang == "hi" && d.NameHi != "" {
				return d.NameHi
			}
			return d.Name
		},
		"sex": func(code string) string { return t(registration.Sexes[code]) },
		"category": func(code string) string {
			for _, c := range registration.Categories {
				if c.Code == code {
					if lang == "hi" {
						return c.LabelHi
					}
					return c.Label
				}
			}
			return code
		},
		"role": func(r auth.Role) string { return t(roleLabels[r]) },
		"kind": func(k string) string {
			if k == "revisit" {
				return t("Revisit")
			}
			return t("New")
		},
		"list": func(xs ...string) []string { return xs },
		"dmy":  showDate,
	}
}

// roleLabels name the roles as staff do.
var roleLabels = map[auth.Role]string{
	auth.Admin: "Administrator", auth.Registration: "Registration clerk", auth.Doctor: "Doctor",
	auth.Lab: "Lab technician", auth.Billing: "Billing clerk", auth.Nurse: "Nurse", auth.Auditor: "Auditor",
}

// pageSets holds, per language, one template set per page: the layout, the
// shared partials and the page's own file.
var pageSets = sync.OnceValues(func() (map[string]map[string]*template.Template, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]*template.Template{}
	for _, lang := range []string{"en", "hi"} {
		out[lang] = map[string]*template.Template{}
		for _, f := range files {
			name := strings.TrimSuffix(path.Base(f), ".html")
			if name == "layout" || name == "partials" {
				continue
			}
			t, err := template.New(name).Funcs(funcs(lang)).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", f)
			if err != nil {
				return nil, fmt.Errorf("web: template %s: %w", name, err)
			}
			out[lang][name] = t
		}
	}
	return out, nil
})

func pageTemplate(lang, name string) (*template.Template, error) {
	sets, err := pageSets()
	if err != nil {
		return nil, err
	}
	t := sets[lang][name]
	if t == nil {
		return nil, fmt.Errorf("web: no page template %q", name)
	}
	return t, nil
}
