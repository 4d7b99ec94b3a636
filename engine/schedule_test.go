package engine

import (
	"math"
	"sort"
	"testing"
	"time"
)

func load(start float64, stages ...Stage) *Load {
	return &Load{StartRate: start, Stages: stages}
}

func TestCurveIntendedTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		load *Load
		n    []float64       // arrival numbers
		want []time.Duration // their intended times
	}{
		{
			// 100/s: arrival n at n/100 s, the first at 0.
			name: "constant",
			load: load(100, Stage{10 * time.Second, 100}),
			n:    []float64{0, 1, 99, 500, 999},
			want: []time.Duration{0, 10 * time.Millisecond, 990 * time.Millisecond, 5 * time.Second, 9990 * time.Millisecond},
		},
		{
			// 0 → 100/s over 10 s: N(t) = 5t², arrival n at sqrt(n/5).
			name: "ramp up from zero",
			load: load(0, Stage{10 * time.Second, 100}),
			n:    []float64{0, 5, 20, 125, 499},
			want: []time.Duration{0, time.Second, 2 * time.Second, 5 * time.Second, seconds(math.Sqrt(499.0 / 5))},
		},
		{
			// 100 → 0/s over 10 s: N(t) = 100t - 5t²; N = 375 at t = 5 s.
			name: "ramp down",
			load: load(100, Stage{10 * time.Second, 0}),
			n:    []float64{0, 375},
			want: []time.Duration{0, 5 * time.Second},
		},
		{
			// 10 s ramp to 50 (250 arrivals), then 50/s: arrival 250+50k at 10+k s.
			name: "ramp then hold",
			load: load(0, Stage{10 * time.Second, 50}, Stage{40 * time.Second, 50}),
			n:    []float64{250, 300, 2199},
			want: []time.Duration{10 * time.Second, 11 * time.Second, 10*time.Second + seconds(1949.0/50)},
		},
		{
			// A zero-rate pause between two constant stages is skipped.
			name: "pause",
			load: load(10, Stage{time.Second, 10}, Stage{time.Second, 0}, Stage{time.Second, 0}, Stage{time.Second, 10}),
			n:    []float64{9, 10, 15, 16},
			// 10 arrivals in the first second, 5 in the ramp down to 0, none
			// in the pause; the last stage ramps 0 → 10 (N = 15 + 5τ²).
			want: []time.Duration{900 * time.Millisecond, time.Second, 3 * time.Second, 3*time.Second + seconds(math.Sqrt(0.2))},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCurve(tc.load)
			for i, n := range tc.n {
				got, ok := c.at(n)
				if !ok {
					t.Fatalf("arrival %v: beyond the profile", n)
				}
				if d := seconds(got) - tc.want[i]; d < -time.Microsecond || d > time.Microsecond {
					t.Errorf("arrival %v at %v, want %v", n, seconds(got), tc.want[i])
				}
			}
		})
	}
}

// TestCurveNoDrift: a million arrivals at 1000/s land exactly on the
// millisecond grid, because each time is computed from n, not summed.
func TestCurveNoDrift(t *testing.T) {
	c := newCurve(load(1000, Stage{1000 * time.Second, 1000}))
	if got := c.countAll(); got != 1_000_000 {
		t.Fatalf("countAll = %d", got)
	}
	for n := 0; n < 1_000_000; n += 997 {
		got, _ := c.at(float64(n))
		if seconds(got) != time.Duration(n)*time.Millisecond {
			t.Fatalf("arrival %d at %v, want %v", n, seconds(got), time.Duration(n)*time.Millisecond)
		}
	}
	last, _ := c.at(999_999)
	if seconds(last) != 999_999*time.Millisecond {
		t.Fatalf("last arrival at %v", seconds(last))
	}
	if _, ok := c.at(1_000_000); ok {
		t.Fatal("arrival 1,000,000 is past the end")
	}
}

func TestCurveCount(t *testing.T) {
	c := newCurve(load(0, Stage{10 * time.Second, 100}, Stage{10 * time.Second, 100}))
	for _, tc := range []struct {
		t    time.Duration
		seg  Segment
		want int64
	}{
		{0, Segment{}, 0},
		{time.Second, Segment{}, 5},            // N(1) = 5: arrivals 0..4
		{time.Second + 1, Segment{}, 6},        // just past arrival 5
		{10 * time.Second, Segment{}, 500},     // end of ramp
		{20 * time.Second, Segment{}, 1500},    // whole profile
		{time.Hour, Segment{}, 1500},           // capped
		{20 * time.Second, Segment{0, 3}, 500}, // 0, 3, ..., 1497
		{20 * time.Second, Segment{2, 3}, 500}, // 2, 5, ..., 1499
		{time.Second, Segment{1, 2}, 2},        // 1, 3 of 0..4
	} {
		if got := c.count(tc.t, tc.seg); got != tc.want {
			t.Errorf("count(%v, %v) = %d, want %d", tc.t, tc.seg, got, tc.want)
		}
	}
}

func drain(a arrivals) (ns []int64, ats []time.Duration) {
	for {
		n, at, ok := a.next()
		if !ok {
			return
		}
		ns = append(ns, n)
		ats = append(ats, at)
	}
}

// TestSegmentsPartitionTheSchedule: the union of segments 0/3, 1/3, 2/3 is
// exactly the whole schedule, for uniform and Poisson arrivals.
func TestSegmentsPartitionTheSchedule(t *testing.T) {
	c := newCurve(load(0, Stage{5 * time.Second, 200}, Stage{5 * time.Second, 200}))
	for _, kind := range []string{"uniform", "poisson"} {
		mk := func(seg Segment) arrivals {
			if kind == "poisson" {
				return newPoisson(c, seg, 42)
			}
			return &uniformArrivals{c: c, seg: seg, max: c.countAll()}
		}
		wholeN, wholeAt := drain(mk(Segment{}))
		type arr struct {
			n  int64
			at time.Duration
		}
		var union []arr
		for i := 0; i < 3; i++ {
			ns, ats := drain(mk(Segment{i, 3}))
			for k := range ns {
				if ns[k]%3 != int64(i) {
					t.Fatalf("%s: segment %d got arrival %d", kind, i, ns[k])
				}
				union = append(union, arr{ns[k], ats[k]})
			}
		}
		sort.Slice(union, func(i, j int) bool { return union[i].n < union[j].n })
		if len(union) != len(wholeN) {
			t.Fatalf("%s: union has %d arrivals, whole %d", kind, len(union), len(wholeN))
		}
		for k := range union {
			if union[k].n != wholeN[k] || union[k].at != wholeAt[k] {
				t.Fatalf("%s: arrival %d differs: %v vs %d@%v", kind, k, union[k], wholeN[k], wholeAt[k])
			}
		}
	}
}

// TestPoissonMeanRate: 1000/s for 100 s gives 100,000 arrivals ± 4σ (σ ≈ 316),
// with exponential gaps (their coefficient of variation is 1).
func TestPoissonMeanRate(t *testing.T) {
	c := newCurve(load(1000, Stage{100 * time.Second, 1000}))
	_, ats := drain(newPoisson(c, Segment{}, 7))
	if n := len(ats); n < 100_000-1265 || n > 100_000+1265 {
		t.Fatalf("%d arrivals, want 100000 ± 1265", n)
	}
	var sum, sq float64
	for i := 1; i < len(ats); i++ {
		g := (ats[i] - ats[i-1]).Seconds()
		sum += g
		sq += g * g
	}
	k := float64(len(ats) - 1)
	mean := sum / k
	cv := math.Sqrt(sq/k-mean*mean) / mean
	if cv < 0.97 || cv > 1.03 {
		t.Fatalf("gap coefficient of variation %.3f, want ≈ 1", cv)
	}
}

// TestClosedSegmentsAddUp: the users of the segments of a closed-model
// profile add up to its users at every moment, and their max_rate shares to
// its max_rate, so that agents run the single-host load between them.
func TestClosedSegmentsAddUp(t *testing.T) {
	l := &Load{Model: Closed, StartRate: 1, Stages: []Stage{{Duration: 10 * time.Second, Target: 17}, {Duration: 5 * time.Second, Target: 2}}}
	for _, n := range []int{1, 2, 3, 7} {
		for at := time.Duration(0); at <= 16*time.Second; at += 250 * time.Millisecond {
			sum, rate := 0, 0.0
			for i := range n {
				seg := Segment{Index: i, Count: n}
				sum += segmentUsers(l, at, seg)
				rate += segmentRate(30, seg)
			}
			if want := usersAt(l, at); sum != want || math.Abs(rate-30) > 1e-9 {
				t.Fatalf("%d segments at %v: %d users (want %d), rate %v", n, at, sum, want, rate)
			}
		}
	}
}
