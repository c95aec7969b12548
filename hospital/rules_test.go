package hospital_test

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kavach/hospital"
	"kavach/service"
)

// source is a service package's Go code, tests left out.
type source struct {
	imports []string
	strings []string // every string literal
	calls   []string // every call of a package's function, as pkg.Func
}

func parse(t *testing.T, dir string) source {
	t.Helper()
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var s source
	for _, f := range files {
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			s.imports = append(s.imports, path)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if x.Kind == token.STRING {
					v, err := strconv.Unquote(x.Value)
					if err == nil {
						s.strings = append(s.strings, v)
					}
				}
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok {
					s.calls = append(s.calls, id.Name+"."+x.Sel.Name)
				}
			}
			return true
		})
	}
	return s
}

var (
	createRE = regexp.MustCompile(`(?i)CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)`)
	tableRE  = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_]+)\b`)
)

// TestServiceRules holds every service to the cross-service rules of
// docs/architecture.md:
//   - a service imports only the services before it in hospital.List, and
//     billing, which the services after it call, only registration (to
//     read patients) and audit;
//   - its SQL names only its own tables: it reads another service's data
//     through that service's read functions;
//   - its SQL is in the subset SQLite and PostgreSQL share (table options
//     only SQLite has stay in the migrations' files);
//   - it reads the time from the hospital's clock (Tx.Now, Node.Now), never
//     time.Now, so one clock and one day hold for every service.
func TestServiceRules(t *testing.T) {
	list := hospital.List()
	owner := map[string]string{}
	for _, s := range list {
		for _, m := range s.Data.Migrations {
			for _, c := range createRE.FindAllStringSubmatch(m.SQL, -1) {
				owner[strings.ToLower(c[1])] = s.Name
			}
		}
	}
	sqliteOnly := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bINSERT\s+OR\b`), regexp.MustCompile(`(?i)\bREPLACE\s+INTO\b`),
		regexp.MustCompile(`(?i)\b(max|min)\([^(),]+,[^()]+\)`), regexp.MustCompile(`(?i)\b(ifnull|glob|strftime|datetime|julianday|instr|printf)\(`),
		regexp.MustCompile(`(?i)\bAUTOINCREMENT\b`), regexp.MustCompile(`(?i)\bWITHOUT ROWID\b`), regexp.MustCompile(`(?i)\browid\b`),
		regexp.MustCompile("`"),
	}
	for i, s := range list {
		t.Run(s.Name, func(t *testing.T) {
			src := parse(t, filepath.Join("..", s.Name))
			var earlier []string
			for _, e := range list[:i] {
				earlier = append(earlier, "kavach/"+e.Name)
			}
			for _, im := range src.imports {
				for _, e := range list {
					if im != "kavach/"+e.Name || slices.Contains(earlier, im) {
						continue
					}
					t.Errorf("imports %s, which comes after it in hospital.List (or is itself)", im)
				}
				if s.Name == "billing" && im != "kavach/registration" && im != "kavach/audit" && slices.ContainsFunc(list, func(e service.Service) bool { return im == "kavach/"+e.Name }) {
					t.Errorf("billing reads patients through registration and calls no other service: it imports %s", im)
				}
			}
			for _, lit := range src.strings {
				if !looksLikeSQL(lit) {
					continue
				}
				for _, m := range tableRE.FindAllStringSubmatch(lit, -1) {
					tab := strings.ToLower(m[1])
					if o, ok := owner[tab]; ok && o != s.Name {
						t.Errorf("its SQL names %s, which is %s's: read it through %s's read functions\n\t%s", tab, o, o, oneLine(lit))
					}
				}
				for _, re := range sqliteOnly {
					if re.MatchString(lit) {
						t.Errorf("its SQL is not in the subset SQLite and PostgreSQL share (%s)\n\t%s", re, oneLine(lit))
					}
				}
			}
			if slices.Contains(src.calls, "time.Now") {
				t.Errorf("it calls time.Now: read the hospital's clock (Tx.Now in a command, Node.Now elsewhere)")
			}
		})
	}
}

var sqlRE = regexp.MustCompile(`(?i)^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP)\b`)

func looksLikeSQL(s string) bool { return sqlRE.MatchString(s) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
