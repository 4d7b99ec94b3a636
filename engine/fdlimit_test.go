package engine

import (
	"strings"
	"testing"
)

func TestFDShortfall(t *testing.T) {
	open := func(n int) *Plan { return &Plan{Load: Load{MaxInFlight: n}} }
	closed := &Plan{Load: Load{Model: Closed, Stages: []Stage{{Target: 5000}}}}
	for _, tc := range []struct {
		name string
		p    *Plan
		hard uint64
		want string // "" for no error
	}{
		{"default 1000 in flight, hard 4096", open(0), 4096, ""},
		// A worker holds one connection; the run's clock is in the reserve.
		{"exactly enough", open(1000), 1064, ""},
		{"one short", open(1000), 1063, "lower max_in_flight to 999"},
		{"tiny hard limit", open(1000), 100, "ulimit -Hn 1064"},
		{"closed model counts users", closed, 4096, "5000 in flight need about 5064"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fdShortfall(tc.p, tc.hard)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
