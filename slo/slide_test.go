package slo

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// TestSlide checks the two-stacks window against merging the last n
// intervals directly, with empty and missing intervals mixed in, and that
// it never writes the interval histograms it was given.
func TestSlide(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 5; n++ {
		s := &slide{n: n}
		var all []*histogram.Histogram
		for i := 0; i < 23; i++ {
			var h *histogram.Histogram
			switch rng.IntN(5) {
			case 0: // no histogram
			case 1:
				h = histogram.New() // empty
			default:
				h = histogram.New()
				h.RecordN(time.Duration(rng.IntN(1e6))*time.Microsecond, int64(1+rng.IntN(10)))
			}
			all = append(all, h)
			var counts []int64
			for _, x := range all {
				counts = append(counts, count(x))
			}
			s.push(h)
			want := histogram.New()
			for _, x := range all[max(0, len(all)-n):] {
				want.Merge(x)
			}
			got := s.merged()
			if want.Count() == 0 {
				if got != nil {
					t.Fatalf("n=%d push %d: got %d values, want none", n, i, got.Count())
				}
				continue
			}
			if got == nil || !got.Equal(want) {
				t.Fatalf("n=%d push %d: window differs from the merge of the last %d", n, i, n)
			}
			for j, x := range all {
				if count(x) != counts[j] {
					t.Fatalf("n=%d: interval %d was written", n, j)
				}
			}
		}
	}
}

func count(h *histogram.Histogram) int64 {
	if h == nil {
		return 0
	}
	return h.Count()
}
