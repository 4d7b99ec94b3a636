package grpcstatus

import "testing"

// TestParse: a status is a name in any case (CANCELED too) or a
// code number 0..16, and a name's code is its index in Names.
func TestParse(t *testing.T) {
	for in, want := range map[string]uint32{"OK": 0, "ok": 0, "CANCELED": 1, "cancelled": 1, "NOT_FOUND": 5, "not_found": 5,
		"UNAVAILABLE": 14, "16": 16, "0": 0} {
		if got, ok := Parse(in); !ok || got != want {
			t.Errorf("%s: %d %v", in, got, ok)
		}
	}
	for _, in := range []string{"17", "-1", "NOPE", ""} {
		if _, ok := Parse(in); ok {
			t.Errorf("%s read as a code", in)
		}
	}
	for i, name := range Names() {
		if got, ok := Parse(name); !ok || got != uint32(i) {
			t.Errorf("%s: %d %v, want %d", name, got, ok, i)
		}
	}
}
