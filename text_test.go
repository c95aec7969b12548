package kavach

import "testing"

func TestTextProblem(t *testing.T) {
	for _, tc := range []struct {
		name, s, want string
	}{
		{"OK", "12 Gandhi Nagar, New Delhi", ""},
		{"OKHindi", "रमेश कुमार", ""},
		{"OKJoiners", "क्\u200dष", ""},
		{"ErrNotUTF8", "A\xffB", TextNotUTF8},
		{"ErrReplacement", "A\uFFFDB", TextNotUTF8},
		{"ErrNUL", "A\x00B", TextControl},
		{"ErrTab", "A\tB", TextControl},
		{"ErrNewline", "A\nB", TextControl},
		{"ErrC1", "A\u0085B", TextControl},
		{"ErrRLO", "A\u202eB", TextInvisible},
		{"ErrRLM", "A\u200fB", TextInvisible},
		{"ErrIsolate", "A\u2066B", TextInvisible},
		{"ErrZeroWidthSpace", "A\u200bB", TextInvisible},
		{"ErrBOM", "\ufeffA", TextInvisible},
		{"ErrLineSeparator", "A\u2028B", TextInvisible},
		{"ErrPrivateUse", "A\ue000B", TextNotText},
		{"ErrNonCharacter", "A\uffffB", TextNotText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TextProblem(tc.s); got != tc.want {
				t.Errorf("TextProblem(%q) = %q, want %q", tc.s, got, tc.want)
			}
		})
	}
}
