// Package stats says how sure a run's numbers are. A p99 from 200 requests
// and one from 2 million are printed alike by every load tool; here each
// comes with a confidence interval, so that a gate can tell "over the
// limit" from "not enough data to know".
//
//   - Quantiles: distribution-free intervals from order statistics. For n
//     samples, the number of them at or below the true quantile q is
//     Binomial(n, q) whatever the distribution, so two ranks l < u bound it
//     with a known probability; the interval is the l-th and u-th smallest
//     samples, read from the HDR histogram's buckets (within a bucket, its
//     values are taken as spread evenly over its width).
//   - Rates (error rate, checks): the Wilson score interval of a binomial
//     proportion, which stays inside [0, 1] and behaves at 0 and 1.
//   - How many more samples would likely decide a threshold whose interval
//     straddles its limit, assuming the distribution stays as observed.
//   - Two runs: the Mann-Whitney U test over their histograms' buckets
//     (values in one bucket are ties), with the probability that a value
//     of one exceeds a value of the other as the effect size.
//
// Every function is pure and safe for concurrent use.
package stats

import (
	"math"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// Z is the two-sided standard normal quantile of a confidence level: 1.96
// for 0.95.
func Z(conf float64) float64 { return math.Sqrt2 * math.Erfinv(conf) }

// exactUpTo is the largest sample count whose ranks come from the exact
// binomial distribution; above it the normal approximation is within a
// rank of it and costs nothing.
const exactUpTo = 1_000_000

// Ranks returns the 1-based ranks lo < hi of the order statistics that
// bound the q-quantile of n samples with probability at least conf: the lo-th
// smallest sample is at or below it, and the hi-th at or above it. lo is 0
// when no sample is low enough to be a lower bound at that confidence, and
// hi is n+1 when none is high enough for an upper bound (p99 of 50 samples).
func Ranks(n int64, q, conf float64) (lo, hi int64) {
	if n <= 0 {
		return 0, 1
	}
	switch {
	case q <= 0:
		return 0, 1
	case q >= 1:
		return n, n + 1
	}
	tail := (1 - conf) / 2
	if n > exactUpTo {
		// With more than a million samples no side is open below p(99.9999).
		m, sd := float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
		z := Z(conf)
		// The mid-p tail at k is about Φ((k - m)/sd): the continuity
		// correction is the half boundary value.
		lo = int64(math.Floor(m-z*sd)) + 1
		hi = int64(math.Ceil(m + z*sd))
		return max(lo, 0), min(hi, n+1)
	}
	// B, the number of samples at or below the quantile, is Binomial(n, q).
	// The lo-th sample is at or below the quantile when B >= lo, the hi-th
	// at or above it when B <= hi-1: lo is the largest rank with
	// P(B <= lo-1) <= tail, hi the smallest with P(B >= hi) <= tail (mid-p
	// tails, below).
	from, cdf := binomialCDF(n, q)
	at := func(k int64) float64 { // P(B <= k)
		switch {
		case k < from:
			return 0
		case k-from >= int64(len(cdf)):
			return 1
		}
		return cdf[k-from]
	}
	// Mid-p: the boundary value counts half in its tail. The exact ranks
	// (whole boundary) always cover at least conf, and at small n far more
	// (p99 of 200 samples: 98.3% for a "95%" bound, the next rank 94.8%);
	// mid-p ranks cover about conf, which is what the number claims.
	pmf := func(k int64) float64 { return at(k) - at(k-1) }
	lower := func(tail float64) (lo int64) {
		for k := max(from, 1); k <= n && at(k-1)-pmf(k-1)/2 <= tail; k++ {
			lo = k
		}
		return lo
	}
	upper := func(tail float64) int64 {
		for k := max(from, 1); k <= n; k++ {
			if 1-at(k-1)-pmf(k)/2 <= tail {
				return k
			}
		}
		return n + 1
	}
	lo, hi = lower(tail), upper(tail)
	// When the samples bound one side at no level, the other side takes
	// the whole 1-conf: a one-sided bound at conf, not at (1+conf)/2.
	switch {
	case hi > n && lo > 0:
		lo = lower(2 * tail)
	case lo == 0 && hi <= n:
		hi = upper(2 * tail)
	}
	return lo, hi
}

// binomialCDF returns P(B <= k) for k = from, from+1, ... over the window
// of Binomial(n, q) that holds all but a negligible part of its mass (12
// standard deviations each side).
func binomialCDF(n int64, q float64) (from int64, cdf []float64) {
	m, sd := float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
	from = max(0, int64(m-12*sd-10))
	to := min(n, int64(m+12*sd+10))
	lgN, _ := math.Lgamma(float64(n) + 1)
	lq, lp := math.Log(q), math.Log1p(-q)
	cdf = make([]float64, to-from+1)
	sum := 0.0
	for k := from; k <= to; k++ {
		a, _ := math.Lgamma(float64(k) + 1)
		b, _ := math.Lgamma(float64(n-k) + 1)
		sum += math.Exp(lgN - a - b + float64(k)*lq + float64(n-k)*lp)
		cdf[k-from] = min(sum, 1)
	}
	return from, cdf
}

// Interval is a confidence interval of a quantile. NoLo (NoHi) says that
// the samples bound it on no side below (above) at the confidence asked:
// Lo is then 0 (Hi is then the histogram's maximum, and meaningless).
type Interval struct {
	Lo, Hi     time.Duration
	NoLo, NoHi bool
}

// Contains reports whether d is inside the interval (an open side contains
// everything beyond it).
func (iv Interval) Contains(d time.Duration) bool {
	return (iv.NoLo || iv.Lo <= d) && (iv.NoHi || d <= iv.Hi)
}

// Quantile returns the conf confidence interval of h's q-quantile: the
// order statistics of Ranks, read from h's buckets. ok is false for an
// empty histogram.
func Quantile(h *histogram.Histogram, q, conf float64) (iv Interval, ok bool) {
	if h == nil || h.Count() == 0 {
		return Interval{}, false
	}
	return QuantileOf(h.Buckets(), q, conf), true
}

// QuantileOf is Quantile on h.Buckets(), for callers that read several
// quantiles of one histogram (each Buckets call copies a frozen one).
func QuantileOf(bs []histogram.Bucket, q, conf float64) Interval {
	var n int64
	for _, b := range bs {
		n += b.Count
	}
	if n == 0 {
		return Interval{NoLo: true, NoHi: true}
	}
	lo, hi := Ranks(n, q, conf)
	iv := Interval{NoLo: lo < 1, NoHi: hi > n}
	if !iv.NoLo {
		iv.Lo = valueAt(bs, lo)
	}
	if iv.NoHi {
		iv.Hi = bs[len(bs)-1].High
	} else {
		iv.Hi = valueAt(bs, hi)
	}
	return iv
}

// valueAt estimates the rank-th smallest value (1-based): the values of a
// bucket are taken as spread evenly over its width, so that an interval
// narrower than a bucket (a p50 of millions of samples) is not widened to
// whole buckets, which would make it cover more often than it says.
func valueAt(bs []histogram.Bucket, rank int64) time.Duration {
	var cum int64
	for _, b := range bs {
		if cum+b.Count >= rank {
			// [Low, High] are the bucket's smallest and largest values.
			width := b.High - b.Low
			return b.Low + time.Duration(float64(width)*(float64(rank-cum)-0.5)/float64(b.Count))
		}
		cum += b.Count
	}
	return bs[len(bs)-1].High
}

// Rate returns the Wilson score interval, at confidence conf, of the
// proportion of k events in n trials (an error rate, a check pass rate).
// ok is false when n is 0.
func Rate(k, n int64, conf float64) (lo, hi float64, ok bool) {
	if n <= 0 {
		return 0, 1, false
	}
	lo, hi = wilson(float64(k)/float64(n), float64(n), Z(conf))
	return lo, hi, true
}

func wilson(p, n, z float64) (lo, hi float64) {
	z2 := z * z
	center := (p + z2/(2*n)) / (1 + z2/n)
	half := z / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return max(0, center-half), min(1, center+half)
}

// maxDecide is the largest sample count SamplesToDecide considers.
const maxDecide = 1e12

// QuantileSamplesToDecide estimates how many samples in all a threshold
// "p(q) < limit" needs before its conf interval no longer straddles the
// limit, when a share of the n samples so far lie at or below the limit
// and the distribution stays as observed: the smallest count whose upper
// rank falls among the samples below the limit (it would pass) or whose
// lower rank falls above them (it would fail). ok is false when no count
// up to 10^12 is likely to decide (share equals q).
func QuantileSamplesToDecide(n int64, share, q, conf float64) (total int64, ok bool) {
	return smallest(n, func(m int64) bool {
		lo, hi := Ranks(m, q, conf)
		below := int64(share * float64(m))
		return hi <= below || lo > below
	})
}

// RateSamplesToDecide is QuantileSamplesToDecide for a threshold on a
// proportion, "rate < limit" (or >): the count whose Wilson interval at the
// observed rate lies wholly on one side of limit.
func RateSamplesToDecide(n int64, rate, limit, conf float64) (total int64, ok bool) {
	z := Z(conf)
	return smallest(n, func(m int64) bool {
		lo, hi := wilson(rate, float64(m), z)
		return hi < limit || lo >= limit
	})
}

// smallest returns the smallest count above n for which decided holds,
// by bisection (decided is monotone but for the binomial's discreteness,
// so the answer is an estimate, as the observed distribution is).
func smallest(n int64, decided func(int64) bool) (int64, bool) {
	lo, hi := max(n, 1), int64(maxDecide)
	if !decided(hi) {
		return 0, false
	}
	if decided(lo + 1) {
		return lo + 1, true
	}
	lo++
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if decided(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true
}

// ShareAtOrBelow is the share of the samples whose bucket lies wholly at
// or below limit, and the number of samples: the observed side of
// QuantileSamplesToDecide.
func ShareAtOrBelow(bs []histogram.Bucket, limit time.Duration) (share float64, n int64) {
	var below int64
	for _, b := range bs {
		n += b.Count
		if b.High <= limit {
			below += b.Count
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(below) / float64(n), n
}
