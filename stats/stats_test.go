package stats

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// binomial returns the pmf of Binomial(n, q) by the ratio recurrence, an
// implementation independent of Ranks's (for small n only).
func binomial(n int, q float64) []float64 {
	pmf := make([]float64, n+1)
	l := float64(n) * math.Log1p(-q) // in logs: (1-q)^n underflows
	pmf[0] = math.Exp(l)
	for k := 1; k <= n; k++ {
		l += math.Log(float64(n-k+1)/float64(k)) + math.Log(q) - math.Log1p(-q)
		pmf[k] = math.Exp(l)
	}
	return pmf
}

// TestRanksExact: for small n the ranks are the equal-tailed mid-p ones:
// each tail, with its boundary value counting half, holds at most
// (1-conf)/2, and one rank further would not; a side the samples cannot
// bound gives the other side the whole 1-conf.
func TestRanksExact(t *testing.T) {
	for _, n := range []int{1, 5, 20, 50, 100, 200, 1000} {
		for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
			for _, conf := range []float64{0.9, 0.95, 0.99} {
				lo, hi := Ranks(int64(n), q, conf)
				pmf := binomial(n, q)
				p := func(k int64) float64 {
					if k < 0 || k > int64(n) {
						return 0
					}
					return pmf[k]
				}
				cdf := func(k int64) float64 { // P(B <= k)
					s := 0.0
					for i := int64(0); i <= k && i <= int64(n); i++ {
						s += pmf[i]
					}
					return s
				}
				below := func(l int64) float64 { return cdf(l-1) - p(l-1)/2 }   // lower tail of rank l
				above := func(u int64) float64 { return 1 - cdf(u-1) - p(u)/2 } // upper tail of rank u
				tail := (1 - conf) / 2
				loTail, hiTail := tail, tail
				if hi > int64(n) && lo > 0 {
					loTail = 2 * tail
				}
				if lo == 0 && hi <= int64(n) {
					hiTail = 2 * tail
				}
				const eps = 1e-9
				if lo > 0 && !(below(lo) <= loTail+eps && (lo == int64(n) || below(lo+1) > loTail-eps)) {
					t.Errorf("n=%d q=%v conf=%v: lo=%d: tail %v, next %v", n, q, conf, lo, below(lo), below(lo+1))
				}
				if lo == 0 && below(1) <= tail-eps {
					t.Errorf("n=%d q=%v conf=%v: no lower rank, but rank 1's tail is %v", n, q, conf, below(1))
				}
				if hi <= int64(n) && !(above(hi) <= hiTail+eps && (hi == 1 || above(hi-1) > hiTail-eps)) {
					t.Errorf("n=%d q=%v conf=%v: hi=%d: tail %v, previous %v", n, q, conf, hi, above(hi), above(hi-1))
				}
				if hi == int64(n)+1 && above(int64(n)) <= tail-eps {
					t.Errorf("n=%d q=%v conf=%v: no upper rank, but rank n's tail is %v", n, q, conf, above(int64(n)))
				}
				if lo >= hi {
					t.Errorf("n=%d q=%v conf=%v: lo %d >= hi %d", n, q, conf, lo, hi)
				}
			}
		}
	}
}

// TestRanksKnown: textbook cases and the open sides.
func TestRanksKnown(t *testing.T) {
	for _, tc := range []struct {
		n      int64
		q      float64
		lo, hi int64
	}{
		{100, 0.5, 41, 60},                // the median of 100: 41st and 60th (94.3%; the exact 40th and 61st, 96.5%)
		{5, 0.5, 1, 5},                    // 93.75%: the closest to 95% five samples give
		{50, 0.99, 48, 51},                // p99 of 50 samples has no upper bound
		{0, 0.5, 0, 1},                    // no samples
		{10, 0, 0, 1},                     // q=0: the minimum, bounded above by the smallest sample
		{10, 1, 10, 11},                   // q=1: the maximum, unbounded above
		{2_000_000, 0.5, 998615, 1001386}, // normal approximation
	} {
		lo, hi := Ranks(tc.n, tc.q, 0.95)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("Ranks(%d, %v) = %d, %d; want %d, %d", tc.n, tc.q, lo, hi, tc.lo, tc.hi)
		}
	}
}

// TestRanksApproximationSeam: the exact ranks and the normal
// approximation agree within two ranks where one takes over from the other.
func TestRanksApproximationSeam(t *testing.T) {
	for _, q := range []float64{0.5, 0.95, 0.99, 0.999} {
		lo1, hi1 := Ranks(exactUpTo, q, 0.95)
		lo2, hi2 := Ranks(exactUpTo+1, q, 0.95)
		if d := lo2 - lo1; d < -2 || d > 2 {
			t.Errorf("q=%v: lo %d exact, %d approximated", q, lo1, lo2)
		}
		if d := hi2 - hi1; d < -2 || d > 2 {
			t.Errorf("q=%v: hi %d exact, %d approximated", q, hi1, hi2)
		}
	}
}

// distribution is a latency distribution with a known quantile function.
type distribution struct {
	name     string
	draw     func(r *rand.Rand) time.Duration
	quantile func(q float64) time.Duration
}

func lognormal(median time.Duration, sigma float64) distribution {
	mu := math.Log(float64(median))
	return distribution{
		name: "log-normal",
		draw: func(r *rand.Rand) time.Duration { return time.Duration(math.Exp(mu + sigma*r.NormFloat64())) },
		quantile: func(q float64) time.Duration {
			return time.Duration(math.Exp(mu + sigma*math.Sqrt2*math.Erfinv(2*q-1)))
		},
	}
}

// bimodal: 99% of requests log-normal around 10 ms, 1% around 500 ms.
func bimodal() distribution {
	fast, slow := lognormal(10*time.Millisecond, 0.3), lognormal(500*time.Millisecond, 0.2)
	cdf := func(x float64) float64 {
		c := func(median, sigma float64) float64 {
			return 0.5 * math.Erfc(-(math.Log(x)-math.Log(median))/(sigma*math.Sqrt2))
		}
		return 0.99*c(float64(10*time.Millisecond), 0.3) + 0.01*c(float64(500*time.Millisecond), 0.2)
	}
	return distribution{
		name: "bimodal 1% slow",
		draw: func(r *rand.Rand) time.Duration {
			if r.Float64() < 0.01 {
				return slow.draw(r)
			}
			return fast.draw(r)
		},
		quantile: func(q float64) time.Duration { // bisection on the mixture's CDF
			lo, hi := float64(time.Microsecond), float64(time.Hour)
			for hi-lo > 1 {
				mid := (lo + hi) / 2
				if cdf(mid) < q {
					lo = mid
				} else {
					hi = mid
				}
			}
			return time.Duration(hi)
		},
	}
}

// TestQuantileCoverageNoRace: the 95% intervals of p50, p95 and p99 cover
// the true quantile in 93–97% of 1,000 samplings, at n = 200, 2,000 and
// 200,000, for a log-normal and a bimodal distribution with a 1% slow
// tail. Fixed seeds: the counts are the same at every run. The bounds are
// bucket edges, so the histogram's rounding is inside the interval.
// Without the race detector only: 1.2 billion samples under it would take
// minutes and check nothing more.
func TestQuantileCoverageNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("1.2 billion samples; make test runs this without -race")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	const trials = 1000
	qs := []float64{0.5, 0.95, 0.99}
	h := histogram.New()
	for di, d := range []distribution{lognormal(20*time.Millisecond, 0.5), bimodal()} {
		for _, n := range []int{200, 2000, 200_000} {
			r := rand.New(rand.NewPCG(uint64(di), uint64(n)))
			var covered, open [3]int
			for range trials {
				h.Reset()
				for range n {
					h.Record(d.draw(r))
				}
				bs := h.Buckets()
				for i, q := range qs {
					iv := QuantileOf(bs, q, 0.95)
					if iv.Contains(d.quantile(q)) {
						covered[i]++
					}
					if iv.NoLo || iv.NoHi {
						open[i]++
					}
				}
			}
			for i, q := range qs {
				share := float64(covered[i]) / trials
				t.Logf("%s n=%d p%v: covered %d/%d (%d with an open side)", d.name, n, 100*q, covered[i], trials, open[i])
				if share < 0.93 || share > 0.97 {
					t.Errorf("%s n=%d p%v: the 95%% interval covered the true quantile in %.1f%% of %d trials, want 93–97%%", d.name, n, 100*q, 100*share, trials)
				}
			}
		}
	}
}

// TestQuantileOpenSides: p99 of 50 samples has no upper bound, and the
// interval of a well-sampled median is narrow and holds the point value.
func TestQuantileOpenSides(t *testing.T) {
	h := histogram.New()
	for i := range 50 {
		h.Record(time.Duration(i+1) * time.Millisecond)
	}
	iv, ok := Quantile(h, 0.99, 0.95)
	if !ok || !iv.NoHi || iv.NoLo || iv.Lo < 48*time.Millisecond || iv.Lo >= 48032*time.Microsecond { // the 48th value's bucket is 32 µs wide
		t.Fatalf("p99 of 50: %+v", iv)
	}
	med, _ := Quantile(h, 0.5, 0.95)
	if med.NoLo || med.NoHi || !med.Contains(h.Quantile(0.5)) || med.Hi-med.Lo > 20*time.Millisecond {
		t.Fatalf("p50 of 50: %+v (point %v)", med, h.Quantile(0.5))
	}
	if _, ok := Quantile(histogram.New(), 0.5, 0.95); ok {
		t.Fatal("an empty histogram has an interval")
	}
}

// TestRate: Wilson intervals of known proportions.
func TestRate(t *testing.T) {
	for _, tc := range []struct {
		k, n   int64
		lo, hi float64
	}{
		{0, 100, 0, 0.0370},
		{50, 100, 0.4038, 0.5962},
		{100, 100, 0.9630, 1},
		{1, 1000, 0.00018, 0.00565},
	} {
		lo, hi, ok := Rate(tc.k, tc.n, 0.95)
		if !ok || math.Abs(lo-tc.lo) > 1e-4 || math.Abs(hi-tc.hi) > 1e-4 {
			t.Errorf("Rate(%d, %d) = %.5f, %.5f; want %.5f, %.5f", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
	if _, _, ok := Rate(0, 0, 0.95); ok {
		t.Fatal("a rate of no trials has an interval")
	}
}

// TestSamplesToDecide: the estimate is a count at which the interval no
// longer straddles the limit, and one much smaller does.
func TestSamplesToDecide(t *testing.T) {
	// p(99) < L where 98.5% of 200 samples are at or below L: it would fail.
	total, ok := QuantileSamplesToDecide(200, 0.985, 0.99, 0.95)
	if !ok || total <= 200 {
		t.Fatalf("quantile: %d, %v", total, ok)
	}
	lo, _ := Ranks(total, 0.99, 0.95)
	if below := int64(0.985 * float64(total)); lo <= below {
		t.Fatalf("at %d samples the lower rank %d is still among the %d below the limit", total, lo, below)
	}
	if lo, _ := Ranks(total/2, 0.99, 0.95); lo > int64(0.985*float64(total/2)) {
		t.Fatalf("already decided at %d of %d", total/2, total)
	}
	t.Logf("p99 with 98.5%% below the limit: %d samples decide", total)
	if _, ok := QuantileSamplesToDecide(200, 0.99, 0.99, 0.95); ok {
		t.Fatal("a share equal to q is decided")
	}
	// rate < 1% observed at 0.5% of 300: passes with enough samples.
	total, ok = RateSamplesToDecide(300, 0.005, 0.01, 0.95)
	if !ok || total <= 300 {
		t.Fatalf("rate: %d, %v", total, ok)
	}
	if _, hi, _ := Rate(int64(0.005*float64(total)+0.5), total, 0.95); hi >= 0.0105 {
		t.Fatalf("at %d samples the upper bound is still %v", total, hi)
	}
	// No error in 50 requests against rate < 1%: Wilson needs ~380 with none.
	total, ok = RateSamplesToDecide(50, 0, 0.01, 0.95)
	if !ok || total < 300 || total > 500 {
		t.Fatalf("zero rate: %d, %v", total, ok)
	}
}

// TestMannWhitney: U against a direct count over all pairs; symmetry;
// alike samples are not significant, a 20% shift is.
func TestMannWhitney(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := lognormal(10*time.Millisecond, 0.5)
	a, b := histogram.New(), histogram.New()
	var av, bv []time.Duration
	for range 300 {
		x, y := d.draw(r), d.draw(r)
		a.Record(x)
		b.Record(y)
	}
	for _, bk := range a.Buckets() {
		for range bk.Count {
			av = append(av, bk.Low)
		}
	}
	for _, bk := range b.Buckets() {
		for range bk.Count {
			bv = append(bv, bk.Low)
		}
	}
	var u float64
	for _, x := range av {
		for _, y := range bv {
			switch {
			case y > x:
				u++
			case y == x:
				u += 0.5
			}
		}
	}
	rt := MannWhitney(a, b)
	if got := rt.Greater * 300 * 300; math.Abs(got-u) > 1e-6 {
		t.Fatalf("U = %v, direct count %v", got, u)
	}
	if back := MannWhitney(b, a); math.Abs(back.Greater+rt.Greater-1) > 1e-12 || math.Abs(back.P-rt.P) > 1e-12 {
		t.Fatalf("not symmetric: %+v vs %+v", rt, back)
	}
	if rt.Significant(0.95) {
		t.Logf("two samples of one distribution: %+v (significant 1 time in 20)", rt)
	}
	// Many pairs of one distribution: about 5% significant at 95%.
	sig := 0
	for i := range 200 {
		a.Reset()
		b.Reset()
		rr := rand.New(rand.NewPCG(3, uint64(i)))
		for range 500 {
			a.Record(d.draw(rr))
			b.Record(d.draw(rr))
		}
		if MannWhitney(a, b).Significant(0.95) {
			sig++
		}
	}
	if sig < 3 || sig > 20 {
		t.Fatalf("%d of 200 alike pairs significant at 95%%, want about 10", sig)
	}
	// A 20% slower run of 2,000 requests is significant, and b is greater.
	a.Reset()
	b.Reset()
	for range 2000 {
		a.Record(d.draw(r))
		b.Record(d.draw(r) * 6 / 5)
	}
	rt = MannWhitney(a, b)
	if !rt.Significant(0.95) || rt.Z <= 0 || rt.Greater <= 0.55 {
		t.Fatalf("20%% slower: %+v", rt)
	}
	if e := MannWhitney(a, histogram.New()); e.P != 1 || e.Greater != 0.5 {
		t.Fatalf("against an empty histogram: %+v", e)
	}
}
