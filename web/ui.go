package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"kavach"
	"kavach/access"
	"kavach/journal"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// languages are the pages' languages: English and Hindi.
var languages = []string{"en", "hi"}

// ui is what every part's pages are made with: one template set per page
// and language (the layout, every part's partials and the page's own
// file), the Hindi of every part's labels, and the static files.
type ui struct {
	pages    map[string]map[string]*template.Template // lang → page → set
	partials map[string]*template.Template            // lang → the layout and partials alone, for panels
	hindi    map[string]string
	static   map[string][]byte
	version  map[string]string // a short content hash per static file, for its URL
	files    map[string]string // page → the part that has it
	parts    []Part
}

// newUI gathers the parts' templates, strings, functions and static files.
// Two parts with a page of one name, a string translated two ways or a
// function of one name are programming errors.
func newUI(parts []Part) (*ui, error) {
	u := &ui{pages: map[string]map[string]*template.Template{}, partials: map[string]*template.Template{},
		hindi: map[string]string{}, static: map[string][]byte{}, version: map[string]string{}, files: map[string]string{}, parts: parts}
	for _, p := range parts {
		for en, hi := range p.Hindi {
			if old, ok := u.hindi[en]; ok && old != hi {
				return nil, fmt.Errorf("web: %s translates %q as %q, another part as %q", p.Name, en, hi, old)
			}
			u.hindi[en] = hi
		}
		if p.Static != nil {
			err := fs.WalkDir(p.Static, ".", func(name string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if _, dup := u.static[name]; dup {
					return fmt.Errorf("web: %s: static file %s is another part's too", p.Name, name)
				}
				b, err := fs.ReadFile(p.Static, name)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				u.static[name], u.version[name] = b, hex.EncodeToString(sum[:6])
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	for _, lang := range languages {
		base, err := u.base(lang, parts)
		if err != nil {
			return nil, err
		}
		u.partials[lang] = base
		u.pages[lang] = map[string]*template.Template{}
		for _, p := range parts {
			if p.Templates == nil {
				continue
			}
			files, err := fs.Glob(p.Templates, "*.html")
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				name := strings.TrimSuffix(path.Base(f), ".html")
				if name == "layout" || name == "partials" {
					continue
				}
				if other, dup := u.files[name]; dup && other != p.Name {
					return nil, fmt.Errorf("web: page %s is both %s's and %s's", name, other, p.Name)
				}
				u.files[name] = p.Name
				t, err := base.Clone()
				if err != nil {
					return nil, err
				}
				if _, err := t.ParseFS(p.Templates, f); err != nil {
					return nil, fmt.Errorf("web: %s: template %s: %w", p.Name, name, err)
				}
				u.pages[lang][name] = t
			}
		}
	}
	return u, nil
}

// base parses the layout and every part's partials for a language.
func (u *ui) base(lang string, parts []Part) (*template.Template, error) {
	t := u.translator(lang)
	fm := u.funcs(lang, t)
	for _, p := range parts {
		if p.Funcs == nil {
			continue
		}
		for name, f := range p.Funcs(lang, t) {
			if _, dup := fm[name]; dup {
				return nil, fmt.Errorf("web: %s: template function %s is another part's too", p.Name, name)
			}
			fm[name] = f
		}
	}
	base := template.New("layout").Funcs(fm)
	for _, p := range parts {
		if p.Templates == nil {
			continue
		}
		for _, f := range []string{"layout.html", "partials.html"} {
			if _, err := fs.Stat(p.Templates, f); err != nil {
				continue
			}
			if _, err := base.ParseFS(p.Templates, f); err != nil {
				return nil, fmt.Errorf("web: %s: %s: %w", p.Name, f, err)
			}
		}
	}
	return base, nil
}

// translator returns the function that puts an English label into lang.
func (u *ui) translator(lang string) func(string) string {
	if lang == "hi" {
		return u.hindiText
	}
	return func(s string) string { return s }
}

// hindiText returns the Hindi for an English label or message, or the
// English itself when no part has it: a missing translation shows English,
// never a blank.
func (u *ui) hindiText(en string) string {
	if h, ok := u.hindi[en]; ok {
		return h
	}
	// A message that names an identifier ("No patient with UHID
	// KA-0000127-X.") is translated by its pattern, the identifier as {}
	// ("No patient with UHID {}."), and the identifier put back.
	if ids := idRE.FindAllString(en, -1); len(ids) > 0 {
		if h, ok := u.hindi[idRE.ReplaceAllString(en, "{}")]; ok && strings.Count(h, "{}") == len(ids) {
			for _, id := range ids {
				h = strings.Replace(h, "{}", id, 1)
			}
			return h
		}
	}
	return en
}

// idRE finds the identifiers a message may name: a UHID as pages show it
// (KA-0000127-X) or as typed, a visit, sample or receipt number.
var idRE = regexp.MustCompile(`\b[A-Z]{2,3}-?[0-9]{4,10}-?[0-9A-Z]\b`)

// Hindi reports the Hindi the parts give for an English label or message
// (a message naming an identifier by its pattern), for tests.
func (s *Server) Hindi(en string) (string, bool) {
	if h, ok := s.ui.hindi[en]; ok {
		return h, true
	}
	h := s.ui.hindiText(en)
	return h, h != en
}

// funcs are the node's template functions for one language. t translates
// a label into the page's language; hi always gives the Hindi, for the
// slip's labels that stand side by side.
func (u *ui) funcs(lang string, t func(string) string) template.FuncMap {
	return template.FuncMap{
		"t":      t,
		"hi":     u.hindiText,
		"static": u.staticURL,
		"upper":  strings.ToUpper,
		"when":   kavach.ShowTime, // 05-12-2026 14:30
		"day":    kavach.ShowDate, // 05-12-2026
		"stamp": func(s string) string { // a journal time string
			tm, err := time.Parse(journal.TimeFormat, s)
			if err != nil {
				return s
			}
			return kavach.ShowTime(tm)
		},
		"clock": func(s string) string {
			tm, err := time.Parse(journal.TimeFormat, s)
			if err != nil {
				return s
			}
			return tm.In(kavach.Zone).Format("15:04")
		},
		"role": func(r access.Role) string { return t(r.Label()) },
		"list": func(xs ...string) []string { return xs },
		"dmy":  kavach.ShowDay,
	}
}

// staticURL is the versioned URL of a static file, as pages link it: a
// counter PC caches it until the file changes.
func (u *ui) staticURL(name string) string { return "/static/" + name + "?v=" + u.version[name] }

// StaticURL is the versioned URL of a static file, as pages link it.
func (s *Server) StaticURL(name string) string { return s.ui.staticURL(name) }

// labelRE finds the labels a template translates.
var labelRE = regexp.MustCompile(`\{\{(?:t|hi) "([^"]+)"`)

// Untranslated lists the labels of every part's templates, nav entries and
// the roles that have no Hindi, for a test to refuse.
func (s *Server) Untranslated() []string {
	var keys []string
	for _, p := range s.ui.parts {
		if p.Templates == nil {
			continue
		}
		files, _ := fs.Glob(p.Templates, "*.html")
		for _, f := range files {
			b, _ := fs.ReadFile(p.Templates, f)
			for _, m := range labelRE.FindAllStringSubmatch(string(b), -1) {
				keys = append(keys, m[1])
			}
		}
	}
	for _, n := range s.nav {
		keys = append(keys, n.Label, n.Desc)
	}
	for _, r := range access.Roles {
		keys = append(keys, r.Label())
	}
	var missing []string
	for _, k := range keys {
		if _, ok := s.ui.hindi[k]; !ok && !slices.Contains(missing, k) {
			missing = append(missing, k)
		}
	}
	return missing
}
