package opd

import "testing"

func TestTokenText(t *testing.T) {
	for _, tc := range []struct {
		v    Visit
		want string
	}{
		{Visit{Token: 17, ID: "KAV00000017X"}, "17"},
		{Visit{Token: 999999, ID: "KAV00000017X"}, "999999"},
		{Visit{Token: 1000017, ID: "KBV00000017X"}, "KB-17"},
		{Visit{Token: 2000001, ID: "KCV00000001X"}, "KC-1"},
		{Visit{Token: 0, ID: "KBV00000001X"}, ""},
	} {
		if got := tc.v.TokenText(); got != tc.want {
			t.Errorf("token %d of %s: %q, want %q", tc.v.Token, tc.v.ID, got, tc.want)
		}
	}
}
