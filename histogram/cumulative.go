package histogram

import (
	"slices"
	"time"
)

// CountsAtOrBelow returns, for each limit, the number of recorded values at
// or below it: the cumulative bucket counts of a classic (Prometheus-style)
// histogram with those upper bounds. limits must be sorted ascending.
//
// A value counts under a limit only when its whole HDR bucket does (the
// bucket's highest equivalent value is at or below the limit), which is the
// same rounding Quantile uses: a bucket straddling a limit is counted above
// it, never below. It reads a dense copy of a frozen histogram, so it costs
// one Thaw; call it off the hot path (at scrape time, for example).
func (h *Histogram) CountsAtOrBelow(limits []time.Duration) []int64 {
	out := make([]int64, len(limits))
	if h == nil || h.Count() == 0 || len(limits) == 0 {
		return out
	}
	if !slices.IsSorted(limits) {
		panic("histogram: CountsAtOrBelow limits are not sorted")
	}
	var cum int64
	i := 0
	for _, b := range h.dense().Distribution() {
		if b.Count == 0 {
			continue
		}
		// Every limit below this bucket's top has its final count.
		for i < len(limits) && us(b.To) > limits[i] {
			out[i] = cum
			i++
		}
		cum += b.Count
	}
	for ; i < len(limits); i++ {
		out[i] = cum
	}
	return out
}

// Bucket is a range of values the histogram does not tell apart: every value
// recorded in [Low, High] counts in it.
type Bucket struct {
	Low, High time.Duration
	Count     int64
}

// Buckets returns the histogram's non-empty buckets in ascending order of
// value: the exact data, to the histogram's precision, from which order
// statistics and rank tests are computed (package stats). It reads a dense
// copy of a frozen histogram, so it costs one Thaw; call it off the hot path.
func (h *Histogram) Buckets() []Bucket {
	if h == nil || h.Count() == 0 {
		return nil
	}
	var out []Bucket
	for _, b := range h.dense().Distribution() {
		if b.Count > 0 {
			out = append(out, Bucket{Low: us(b.From), High: us(b.To), Count: b.Count})
		}
	}
	return out
}
