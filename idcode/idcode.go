// Package idcode makes and checks Kavach's human-typed identifiers: a node's
// two-letter namespace, a serial number and a Luhn mod N check character over
// an alphabet without I and O, so that one mistyped or two swapped characters
// are caught at the counter.
package idcode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"kavach"
)

// Alphabet is the set of characters identifiers use: digits and capitals
// except I and O, which are read as 1 and 0.
const Alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

var n = len(Alphabet)

func value(c byte) int { return strings.IndexByte(Alphabet, c) }

// CheckChar returns the Luhn mod N check character for s.
func CheckChar(s string) (byte, error) {
	sum, factor := 0, 2
	for i := len(s) - 1; i >= 0; i-- {
		v := value(s[i])
		if v < 0 {
			return 0, fmt.Errorf("idcode: %q is not allowed in an identifier", s[i])
		}
		a := factor * v
		factor = 3 - factor
		sum += a/n + a%n
	}
	return Alphabet[(n-sum%n)%n], nil
}

// Make returns prefix, the serial padded to width digits, and the check character.
func Make(prefix string, serial int64, width int) string {
	body := prefix + fmt.Sprintf("%0*d", width, serial)
	c, err := CheckChar(body)
	if err != nil {
		panic(err) // prefixes are validated when a node is named
	}
	return body + string(c)
}

// Normalize upper-cases s and drops spaces and hyphens, as typed or scanned.
func Normalize(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}

// ErrCheck means the identifier's check character does not match: a typing mistake.
var ErrCheck = errors.New("the check character does not match; please re-type it")

// Parse checks a normalized identifier with the given prefix length (letters)
// and returns its prefix and serial.
func Parse(s string, prefixLen int) (prefix string, serial int64, err error) {
	if len(s) < prefixLen+2 {
		return "", 0, errors.New("too short")
	}
	body, check := s[:len(s)-1], s[len(s)-1]
	c, err := CheckChar(body)
	if err != nil {
		return "", 0, err
	}
	prefix = body[:prefixLen]
	serial, err = strconv.ParseInt(body[prefixLen:], 10, 64)
	if err != nil {
		return "", 0, errors.New("the number part must be digits")
	}
	if c != check {
		return "", 0, ErrCheck
	}
	return prefix, serial, nil
}

// UHID normalizes a typed or scanned UHID (two letters, digits, a check
// character) and checks its check character, with an error a clerk can act
// on. Every service that takes a UHID reads it here.
func UHID(s string) (string, error) {
	u := Normalize(s)
	if len(u) < 10 || len(u) > 12 {
		return "", &kavach.Error{Code: kavach.EINVALID, Message: "That is not a UHID.", Fields: map[string]string{"uhid": "UHID must have 10 to 12 letters and digits"}}
	}
	if _, _, err := Parse(u, 2); err != nil {
		return "", &kavach.Error{Code: kavach.EINVALID, Message: "That UHID has a typing mistake.", Fields: map[string]string{"uhid": "UHID " + s + ": " + err.Error()}}
	}
	return u, nil
}

// ShowUHID groups a UHID for reading aloud, as every page, slip, label,
// report and receipt shows it: KA-0000127-X (namespace, serial, check
// character). Normalize reads it back. Anything too short to be a UHID is
// returned as it is.
func ShowUHID(u string) string {
	if len(u) < 4 {
		return u
	}
	return u[:2] + "-" + u[2:len(u)-1] + "-" + u[len(u)-1:]
}
