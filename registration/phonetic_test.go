package registration

import "testing"

func TestNameKey(t *testing.T) {
	same := [][2]string{
		{"Laxmi Devi", "Lakshmi Devi"},
		{"Mohd Irfan", "Mohammad Irfan"},
		{"Mohd. Irfan", "Muhammad Irfan"},
		{"Pooja Sharma", "Puja Sarma"},
		{"Jyoti Kumari", "Jyothi Kumari"},
		{"Smt. Sunita Devi", "Sunita Debi"},
		{"Ramesh Kumar", "Ramesh Kr"},
		{"Aarti Singh", "Arti Singh"},
		{"Vikas Yadav", "Wikas Yadav"},
	}
	for _, c := range same {
		if a, b := NameKey(c[0]), NameKey(c[1]); a != b {
			t.Errorf("%q → %q but %q → %q", c[0], a, c[1], b)
		}
	}
	differ := [][2]string{
		{"Ramesh Kumar", "Suresh Kumar"},
		{"Sunita Devi", "Savita Devi"},
		{"Mohan Lal", "Sohan Lal"},
	}
	for _, c := range differ {
		if NameKey(c[0]) == NameKey(c[1]) {
			t.Errorf("%q and %q share the key %q", c[0], c[1], NameKey(c[0]))
		}
	}
}
