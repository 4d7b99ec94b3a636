package histogram

import (
	"slices"
	"testing"
	"time"
)

func TestCountsAtOrBelow(t *testing.T) {
	h := New()
	for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond, 10 * time.Millisecond, time.Second} {
		h.Record(d)
	}
	limits := []time.Duration{
		500 * time.Microsecond, // below everything
		time.Millisecond,       // exactly the first value: counted (1 ms is its own bucket)
		5 * time.Millisecond,   // three values
		100 * time.Millisecond, // four
		time.Hour,              // all
	}
	want := []int64{0, 1, 3, 4, 5}
	for _, hist := range []*Histogram{h, h.Freeze()} {
		if got := hist.CountsAtOrBelow(limits); !slices.Equal(got, want) {
			t.Fatalf("frozen=%v: got %v, want %v", hist.Frozen(), got, want)
		}
	}
	if got := New().CountsAtOrBelow(limits); !slices.Equal(got, make([]int64, len(limits))) {
		t.Fatalf("empty: %v", got)
	}
}

// A bucket straddling a limit counts above it, as Quantile rounds up.
func TestCountsAtOrBelowStraddle(t *testing.T) {
	h := New()
	h.Record(300*time.Millisecond + 100*time.Microsecond) // bucket 300.0..300.25 ms
	if got := h.CountsAtOrBelow([]time.Duration{300 * time.Millisecond})[0]; got != 0 {
		t.Fatalf("straddling bucket counted below the limit: %d", got)
	}
	if q := h.Quantile(1); q <= 300*time.Millisecond {
		t.Fatalf("quantile %v should be above the limit too", q)
	}
}
