package registration

import (
	"strings"
	"unicode"
)

// Name keys make spelling variants common at Indian counters compare equal:
// Laxmi/Lakshmi, Mohd/Mohammad, Sharma/Sarma, Jyoti/Jyothi, Pooja/Puja. A key
// keeps a word's first letter and its consonant skeleton after folding
// aspirates and common transliteration pairs.

var aliases = map[string]string{
	"mohd": "mhmd", "md": "mhmd", "mohammad": "mhmd", "mohammed": "mhmd", "muhammad": "mhmd",
	"muhammed": "mhmd", "mohamed": "mhmd", "mohamad": "mhmd", "mohmmad": "mhmd", "mhd": "mhmd",
	"kr": "kmr", "kumar": "kmr", "kumari": "kmr",
	"bibi": "b", "devi": "dv", "debi": "dv",
}

// titles are dropped from names before keying.
var titles = map[string]bool{"mr": true, "mrs": true, "ms": true, "smt": true, "shri": true, "sri": true, "shree": true, "dr": true, "km": true, "kum": true, "master": true, "baby": true}

var folds = []struct{ from, to string }{
	{"x", "ks"}, {"ksh", "ks"}, {"sh", "s"}, {"ph", "f"}, {"bh", "b"}, {"dh", "d"}, {"th", "t"},
	{"kh", "k"}, {"gh", "g"}, {"jh", "j"}, {"ch", "c"}, {"q", "k"}, {"ck", "k"}, {"w", "v"},
	{"z", "j"}, {"y", "i"}, {"ee", "i"}, {"oo", "u"},
}

// wordKey returns the key of one lower-case Latin word.
func wordKey(w string) string {
	if a, ok := aliases[w]; ok {
		return a
	}
	for _, f := range folds {
		w = strings.ReplaceAll(w, f.from, f.to)
	}
	w = strings.ReplaceAll(w, "h", "")
	if w == "" {
		return ""
	}
	var b strings.Builder
	var last rune
	for i, r := range w {
		vowel := strings.ContainsRune("aeiou", r)
		if i > 0 && vowel {
			continue
		}
		if i == 0 && vowel {
			r = 'a' // Ashok/Ishwar differ, but Usha/Oosha and Aarti/Arti do not
		}
		if r == last {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

// nameWords splits a name into lower-case Latin words without titles.
func nameWords(name string) []string {
	f := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !(r >= 'a' && r <= 'z') && !unicode.Is(unicode.Devanagari, r)
	})
	out := f[:0]
	for _, w := range f {
		if !titles[w] {
			out = append(out, w)
		}
	}
	return out
}

// NameKey is the phonetic key of a full name, used to find likely duplicates.
func NameKey(name string) string {
	words := nameWords(name)
	keys := make([]string, 0, len(words))
	for _, w := range words {
		if k := wordKey(w); k != "" {
			keys = append(keys, k)
		}
	}
	return strings.Join(keys, " ")
}
