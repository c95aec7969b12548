package auth

import (
	"strings"
	"testing"
)

// TestPasswordProblem: short, common (whatever the case) and username
// passwords are refused with a message that says why; a long uncommon one
// passes (issue 13 item 8).
func TestPasswordProblem(t *testing.T) {
	for _, c := range []struct{ user, pw, want string }{
		{"meena", "monsoon-tea-42", ""},
		{"meena", "चाय-और-बारिश", ""}, // 12 characters, in Devanagari
		{"meena", "short", "at least 10 characters"},
		{"meena", "नौ-अक्षर", "at least 10 characters"}, // 8 characters, more bytes
		{"meena", "password123", "most common"},
		{"meena", "PASSWORD123", "most common"},
		{"meena", "1234567890", "most common"},
		{"registration", "Registration", "not be the username"},
		{"meena", strings.Repeat("a", 129), "at most 128"},
	} {
		got := PasswordProblem(c.user, c.pw)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("PasswordProblem(%q, %q) = %q, want %q", c.user, c.pw, got, c.want)
		}
	}
}
