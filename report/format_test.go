package report

import "testing"

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{fmtMS(0), "0s"},
		{fmtMS(0.212), "212µs"},
		{fmtMS(1.2), "1.2ms"},
		{fmtMS(130.104), "130.1ms"},
		{fmtMS(41), "41ms"},
		{fmtMS(1250), "1.25s"},
		{fmtMS(90_000), "1m30s"},
		{fmtMS(120_000), "2m"},
		{fmtMS(3_900_000), "1h5m"},
		{fmtMS(3_600_000), "1h"},
		{fmtBytes(512), "512 B"},
		{fmtBytes(1_300_000), "1.3 MB"},
		{fmtBytes(43_210), "43.2 kB"},
		{fmtShare(0.002), "0.20%"},
		{fmtShare(1), "100.00%"},
		{fmtElapsed(12400e6, 50e9), "12s/50s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestRound(t *testing.T) {
	for _, tc := range []struct {
		x      float64
		digits int
		want   float64
	}{
		{1.23456, 3, 1.235},
		{0.0000004, 6, 0},
		{2.5e-6, 6, 0.000003},
	} {
		if got := round(tc.x, tc.digits); got != tc.want {
			t.Errorf("round(%v, %d) = %v, want %v", tc.x, tc.digits, got, tc.want)
		}
	}
}
