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

// TestBuckets: the non-empty buckets, ascending, hold every value once, and
// each bucket's range contains the values recorded in it.
func TestBuckets(t *testing.T) {
	h := New()
	vals := []time.Duration{3 * time.Microsecond, 3 * time.Microsecond, 1500 * time.Microsecond, 1501 * time.Microsecond, 2 * time.Second, 2*time.Second + 500*time.Microsecond}
	for _, v := range vals {
		h.Record(v)
	}
	for _, hh := range []*Histogram{h, h.Freeze()} {
		bs := hh.Buckets()
		var n int64
		for i, b := range bs {
			n += b.Count
			if b.Count <= 0 || b.Low > b.High || (i > 0 && b.Low <= bs[i-1].High) {
				t.Fatalf("bucket %d: %+v after %+v", i, b, bs[max(i-1, 0)])
			}
		}
		if n != int64(len(vals)) {
			t.Fatalf("buckets hold %d values, want %d: %+v", n, len(vals), bs)
		}
		for _, v := range vals {
			found := false
			for _, b := range bs {
				found = found || (b.Low <= v && v <= b.High)
			}
			if !found {
				t.Fatalf("%v is in no bucket: %+v", v, bs)
			}
		}
		if len(bs) != 4 { // below 2048 µs every µs has a bucket; near 2 s a bucket is 1 ms wide
			t.Fatalf("%d buckets, want 4: %+v", len(bs), bs)
		}
	}
	if New().Buckets() != nil {
		t.Fatal("an empty histogram has buckets")
	}
}
