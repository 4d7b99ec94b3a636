package report

import (
	"math"

	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/stats"
)

// noise judges whether the rows of one metric differ by more than
// sampling noise: it holds what every row of the metric shares (the two
// histograms' buckets and their rank test, or the two rates).
type noise struct {
	conf   float64 // ≤ 0: significance off
	typ    string
	bb, nb []histogram.Bucket // trends
	rank   stats.RankTest
	b, n   Metric // rates
}

func newNoise(bv, nv values, conf float64) *noise {
	z := &noise{conf: conf, typ: bv.m.Type, b: bv.m, n: nv.m}
	if conf > 0 && bv.h != nil && nv.h != nil {
		z.bb, z.nb = bv.h.Buckets(), nv.h.Buckets()
		z.rank = stats.MannWhitneyOf(z.bb, z.nb)
	}
	return z
}

// judge sets row's intervals, p-value and significance.
func (z *noise) judge(row *Row) {
	if z.conf <= 0 {
		return
	}
	switch z.typ {
	case TypeRate:
		z.judgeRate(row)
	case TypeTrend:
		if z.bb == nil || z.nb == nil {
			return // a report without histograms: nothing to test
		}
		q, ok := quantileOf(row.Stat)
		if row.Stat == "med" {
			q, ok = 0.5, true
		}
		if !ok {
			// min, avg, max: the rank test, in the direction of the change.
			p := round(z.rank.P, 6)
			row.PValue = &p
			row.Significant = z.rank.Significant(z.conf) && (z.rank.Z > 0) == (row.Delta > 0) && row.Delta != 0
			return
		}
		// A percentile: its two intervals must not overlap. The rank test
		// would flag a shift of the whole distribution that one run in
		// twenty shows by chance, and a percentile past its limit goes
		// with it: 1 false regression in 20 pairs of one build. Disjoint
		// intervals happen by chance in about 0.6% of pairs.
		bi, ni := stats.QuantileOf(z.bb, q, z.conf), stats.QuantileOf(z.nb, q, z.conf)
		row.BaseCI, row.NewCI = ciOf(bi), ciOf(ni)
		if !bi.NoLo && !bi.NoHi && !ni.NoLo && !ni.NoHi {
			row.Spread = spread(ms(bi.Hi)-ms(bi.Lo), ms(ni.Hi)-ms(ni.Lo), 3)
		}
		row.Significant = (!ni.NoLo && !bi.NoHi && ni.Lo > bi.Hi) || (!ni.NoHi && !bi.NoLo && ni.Hi < bi.Lo)
	}
}

// judgeRate tests two proportions: Wilson intervals for each, and the
// pooled two-proportion z test for the difference.
func (z *noise) judgeRate(row *Row) {
	b, n := z.b, z.n
	if b.Total == 0 || n.Total == 0 {
		return
	}
	bl, bh, _ := stats.Rate(b.Hits, b.Total, z.conf)
	nl, nh, _ := stats.Rate(n.Hits, n.Total, z.conf)
	row.BaseCI = []*float64{ptr(round(bl, 6)), ptr(round(bh, 6))}
	row.NewCI = []*float64{ptr(round(nl, 6)), ptr(round(nh, 6))}
	row.Spread = spread(bh-bl, nh-nl, 6)
	p1, p2 := float64(b.Hits)/float64(b.Total), float64(n.Hits)/float64(n.Total)
	pool := float64(b.Hits+n.Hits) / float64(b.Total+n.Total)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(b.Total) + 1/float64(n.Total)))
	pv := 1.0
	if se > 0 {
		pv = math.Erfc(math.Abs(p2-p1) / se / math.Sqrt2)
	}
	row.PValue = ptr(round(pv, 6))
	row.Significant = pv < 1-z.conf
}

// spread combines two intervals' widths into the noise of a difference.
func spread(baseWidth, newWidth float64, digits int) *float64 {
	return ptr(round(math.Sqrt(baseWidth*baseWidth+newWidth*newWidth)/2, digits))
}

// ciOf is an interval in ms, null on an open side.
func ciOf(iv stats.Interval) []*float64 {
	out := []*float64{nil, nil}
	if !iv.NoLo {
		out[0] = ptr(ms(iv.Lo))
	}
	if !iv.NoHi {
		out[1] = ptr(ms(iv.Hi))
	}
	return out
}

func ptr(x float64) *float64 { return &x }
