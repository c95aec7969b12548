package idcode

import "testing"

func TestMakeParse(t *testing.T) {
	id := Make("KA", 127, 7)
	if len(id) != 10 {
		t.Fatalf("len(%q) = %d", id, len(id))
	}
	p, s, err := Parse(id, 2)
	if err != nil || p != "KA" || s != 127 {
		t.Fatalf("Parse(%q) = %q, %d, %v", id, p, s, err)
	}
}

func TestCatchesTypos(t *testing.T) {
	for serial := int64(1); serial < 3000; serial += 7 {
		id := Make("KA", serial, 7)
		for i := 2; i < len(id); i++ {
			// Every single substitution.
			for _, c := range []byte(Alphabet) {
				if c == id[i] {
					continue
				}
				typo := id[:i] + string(c) + id[i+1:]
				if _, _, err := Parse(typo, 2); err == nil {
					t.Fatalf("%q accepted as a typo of %q", typo, id)
				}
			}
			// Every adjacent transposition of different characters, but
			// for the one pair Luhn mod N cannot tell apart: the values 0
			// and N-1, '0' and 'Z'.
			if i+1 < len(id) && id[i] != id[i+1] {
				b := []byte(id)
				b[i], b[i+1] = b[i+1], b[i]
				if _, _, err := Parse(string(b), 2); err == nil && !isZeroZ(b[i], b[i+1]) {
					t.Fatalf("transposition %q of %q accepted", b, id)
				}
			}
		}
	}
}

// isZeroZ reports whether a and b are '0' and 'Z', in either order.
func isZeroZ(a, b byte) bool {
	return a == Alphabet[0] && b == Alphabet[len(Alphabet)-1] || b == Alphabet[0] && a == Alphabet[len(Alphabet)-1]
}

func TestNormalize(t *testing.T) {
	if got := Normalize(" ka-000 0127-x "); got != "KA0000127X" {
		t.Fatalf("Normalize = %q", got)
	}
}
