package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"kavach"
)

// strictKeys refuses what encoding/json lets through: a key given twice
// (it keeps the last, so what a proxy or a log shows may not be what was
// stored) and a key in the wrong case ("Name" for "name", which it matches
// without a word). t is the type Decode decodes into.
func strictKeys(body []byte, t reflect.Type) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var walk func(want map[string]bool) error
	walk = func(want map[string]bool) error {
		tok, err := d.Token()
		if err != nil {
			return nil // not JSON: Decode says so
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]string{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil
				}
				k, _ := kt.(string)
				if _, dup := seen[k]; dup {
					return &kavach.Error{Code: kavach.EINVALID, Message: "Field " + k + " is given twice.", Fields: map[string]string{k: "given twice"}}
				}
				if other, ok := seen[strings.ToLower(k)]; ok {
					return &kavach.Error{Code: kavach.EINVALID, Message: "Fields " + other + " and " + k + " differ only in case.", Fields: map[string]string{k: "given twice, in another case"}}
				}
				seen[k], seen[strings.ToLower(k)] = k, k
				if want != nil && !want[k] {
					for name := range want {
						if strings.EqualFold(name, k) {
							return &kavach.Error{Code: kavach.EINVALID, Message: "Unknown field " + k + ": the field is " + name + ".", Fields: map[string]string{k: "unknown field; did you mean " + name + "?"}}
						}
					}
				}
				if err := walk(nil); err != nil {
					return err
				}
			}
			d.Token() // }
		case json.Delim('['):
			for d.More() {
				if err := walk(nil); err != nil {
					return err
				}
			}
			d.Token() // ]
		}
		return nil
	}
	return walk(jsonNames(t))
}

// jsonNames are the JSON keys of a struct type's fields (through a pointer
// and embedded structs), or nil for another type.
func jsonNames(t reflect.Type) map[string]bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			for k := range jsonNames(f.Type) {
				out[k] = true
			}
		case f.IsExported():
			if name == "" {
				name = f.Name
			}
			out[name] = true
		}
	}
	return out
}
