package registration

import "testing"

// TestStateCodes: the code the form shows for each state is one the server
// takes for that state.
func TestStateCodes(t *testing.T) {
	for _, st := range States {
		if code := StateCode(st); code == "" || stateAliases[code] != st {
			t.Errorf("state %s: code %q is %q", st, code, stateAliases[code])
		}
	}
}
