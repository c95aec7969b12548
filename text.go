package kavach

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// What TextProblem finds, as a clerk reads it beside the field.
const (
	TextNotUTF8   = "Has characters that could not be read; type them again"
	TextControl   = "Has a control character; type it again without it"
	TextInvisible = "Has an invisible formatting character (such as a direction mark); type it again without it"
	TextNotText   = "Has a character that is not text; type it again without it"
)

// TextProblem says what is wrong with what a user typed into a free-text
// field, or "" when nothing is. Text must be UTF-8 without the replacement
// character (what bytes that are not UTF-8 become in JSON), control
// characters, or the invisible characters that change how text is laid out
// (direction marks and overrides, zero-width spaces, byte order marks): a
// name that displays as one thing and is stored as another has no place on
// a hospital record. The zero-width joiner and non-joiner stay: Devanagari
// needs them.
func TextProblem(s string) string {
	if !utf8.ValidString(s) {
		return TextNotUTF8
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return TextNotUTF8
		case r == '\u200c' || r == '\u200d':
		case unicode.Is(unicode.Cc, r):
			return TextControl
		case unicode.Is(unicode.Cf, r), r == '\u2028', r == '\u2029':
			return TextInvisible
		case unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r), r&0xfffe == 0xfffe, r >= 0xfdd0 && r <= 0xfdef:
			return TextNotText
		}
	}
	return ""
}

// Note records what is wrong with a free-text field that holds at most
// max bytes: too long, or not text the journal can hold (Text).
func (f Fields) Note(field, value string, max int) {
	if len(value) > max {
		f.Add(field, "At most "+strconv.Itoa(max)+" characters")
	}
	f.Text(field, value)
}

// Text records what is wrong with a free-text field's value, if anything.
func (f Fields) Text(field, value string) {
	if p := TextProblem(value); p != "" {
		f.Add(field, p)
	}
}
