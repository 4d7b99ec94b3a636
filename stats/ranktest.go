package stats

import (
	"math"

	"github.com/loadgate/loadgate/histogram"
)

// RankTest is the outcome of a Mann-Whitney U test of two samples a and b.
type RankTest struct {
	// Greater is the probability that a value of b exceeds a value of a,
	// ties counting half (U divided by the number of pairs): 0.5 when the
	// two are alike, 1 when every value of b is above every value of a.
	Greater float64
	// Z is the standardized U statistic (normal approximation, corrected
	// for ties); positive when b tends to be larger.
	Z float64
	// P is the two-sided p-value: the probability of a difference at
	// least this large between two samples of one distribution.
	P float64
	// N1 and N2 are the sample sizes of a and b.
	N1, N2 int64
}

// Significant reports whether the test rejects "a and b come from one
// distribution" at confidence conf (P < 1-conf).
func (r RankTest) Significant(conf float64) bool { return r.P < 1-conf }

// MannWhitney compares the distributions of two histograms of the same
// geometry with the Mann-Whitney U test, computed over their buckets:
// values that share a bucket are ties (the histogram cannot order them),
// which the variance's tie correction accounts for. It needs no assumption
// on the shape of either distribution, only that samples are independent,
// which a run's latencies only approximately are (a stall makes a burst of
// similar values): callers should treat it as one signal among others.
// P is 1 when either histogram is empty.
func MannWhitney(a, b *histogram.Histogram) RankTest {
	return MannWhitneyOf(a.Buckets(), b.Buckets())
}

// MannWhitneyOf is MannWhitney on the histograms' Buckets.
func MannWhitneyOf(as, bs []histogram.Bucket) RankTest {
	var r RankTest
	for _, x := range as {
		r.N1 += x.Count
	}
	for _, x := range bs {
		r.N2 += x.Count
	}
	if r.N1 == 0 || r.N2 == 0 {
		r.Greater, r.P = 0.5, 1
		return r
	}
	// Walk both bucket lists in value order. Buckets of one geometry are
	// equal or disjoint, so equal Low means the same bucket.
	var u, ties, belowA float64 // belowA: values of a in lower buckets
	i, j := 0, 0
	for i < len(as) || j < len(bs) {
		var ca, cb float64
		switch {
		case j == len(bs) || (i < len(as) && as[i].Low < bs[j].Low):
			ca = float64(as[i].Count)
			i++
		case i == len(as) || bs[j].Low < as[i].Low:
			cb = float64(bs[j].Count)
			j++
		default:
			ca, cb = float64(as[i].Count), float64(bs[j].Count)
			i, j = i+1, j+1
		}
		u += cb * (belowA + ca/2)
		t := ca + cb
		ties += t*t*t - t
		belowA += ca
	}
	n1, n2 := float64(r.N1), float64(r.N2)
	n := n1 + n2
	r.Greater = u / (n1 * n2)
	variance := n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1)))
	if variance <= 0 { // every value in one bucket: no evidence of a difference
		r.P = 1
		return r
	}
	r.Z = (u - n1*n2/2) / math.Sqrt(variance)
	r.P = math.Erfc(math.Abs(r.Z) / math.Sqrt2)
	return r
}
