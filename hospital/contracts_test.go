package hospital_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"kavach/hospital"
	"kavach/node"
)

var update = flag.Bool("update", false, "rewrite testdata/events.txt from the services' event types")

// TestEventContracts prints every event type with its owner, its followers
// and its payload's shape. The file is checked in: a payload type is a
// frozen contract (docs/architecture.md), so any diff in a line that was
// there before is an edit the rule forbids; a new event type is new lines.
func TestEventContracts(t *testing.T) {
	var b strings.Builder
	services := append([]node.Service{node.Core()}, hospital.Services()...)
	followers := map[string][]string{}
	for _, s := range services {
		for _, h := range s.Events {
			if !h.Owner {
				followers[h.Type] = append(followers[h.Type], s.Name)
			}
		}
	}
	var lines []string
	for _, s := range services {
		for _, h := range s.Events {
			if !h.Owner {
				continue
			}
			line := fmt.Sprintf("%s (%s", h.Type, s.Name)
			if f := followers[h.Type]; len(f) > 0 {
				line += "; followed by " + strings.Join(f, ", ")
			}
			lines = append(lines, line+"): "+shape(h.Payload)+"\n")
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		b.WriteString(l)
	}
	path := filepath.Join("testdata", "events.txt")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("the event contracts changed: an event's payload is never edited; add a new event type instead (docs/architecture.md).\n"+
			"If this adds new event types only, run go test ./hospital -run TestEventContracts -update and check that the diff only adds lines.\n--- now\n%s", b.String())
	}
}

// shape writes a payload type as its JSON: keys, and what each holds.
func shape(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return shape(t.Elem())
	case reflect.Struct:
		var parts []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := name + ":" + shape(f.Type)
			if strings.Contains(opts, "omitempty") {
				p += "?"
			}
			parts = append(parts, p)
		}
		return "{" + strings.Join(parts, " ") + "}"
	case reflect.Map:
		return "map[" + shape(t.Key()) + "]" + shape(t.Elem())
	case reflect.Slice, reflect.Array:
		return "[" + shape(t.Elem()) + "]"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	}
	return t.Kind().String()
}
