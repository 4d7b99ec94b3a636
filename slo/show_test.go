package slo

import "testing"

// TestShow: the values in a reason never use scientific notation (issue 15
// item 10): 5e-05 is 0.00005, 1e+12 is 1000000000000.
func TestShow(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{604.6712, "604.6712"},
		{604.67123, "604.6712"},
		{0.0025, "0.0025"},
		{0.00005, "0.00005"},
		{0.000012345, "0.0000123"},
		{-0.00005, "-0.00005"},
		{1e12, "1000000000000"},
		{15340, "15340"},
	} {
		if got := show(tc.v); got != tc.want {
			t.Errorf("show(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
