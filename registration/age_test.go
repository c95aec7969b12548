package registration

import (
	"testing"
	"time"

	"kavach"
)

// An age given with the date of birth must agree with it: the age that day,
// or the year count a clerk makes before the birthday; leap years included.
func TestAgeAgreesWithDateOfBirth(t *testing.T) {
	today := time.Date(2026, 3, 1, 10, 0, 0, 0, kavach.Zone)
	for _, c := range []struct {
		dob  string
		age  int
		okay bool
	}{
		{"2004-03-01", 22, true},  // a birthday today, after 29 February
		{"2004-03-01", 21, false}, // a year short
		{"1990-05-10", 35, true},  // the birthday still to come
		{"1990-05-10", 36, true},  // 2026 - 1990, counted before it
		{"1990-05-10", 37, false},
		{"1990-01-10", 36, true},
		{"1990-01-10", 37, false}, // past the birthday, no slack left
	} {
		age := c.age
		np := &NewPatient{Name: "Kamla Devi", Sex: "F", DateOfBirth: c.dob, AgeYears: &age, Mobile: "9876543210",
			Address: "Ward 7", GuardianName: "Ram Lal"}
		_, err := np.Validate(today)
		if got := err == nil; got != c.okay {
			t.Errorf("born %s, age %d: %v, want accepted %v", c.dob, c.age, err, c.okay)
		}
	}
}
