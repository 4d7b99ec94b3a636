package engine

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// curve is the open model's rate profile as a piecewise-linear function of
// time, with its integral N(t) (arrivals due by t) and the inverse of that
// integral (when arrival x is due). All math is in float64 seconds and is
// computed per arrival from the stage boundaries, so nothing accumulates:
// arrival 1,000,000 is exactly where the formula puts it.
type curve struct {
	pieces []piece
	end    float64 // total duration, seconds
	total  float64 // N(end)
}

// piece is one stage: the rate goes linearly from a to b over [t0, t0+dur),
// and c0 arrivals are due before t0.
type piece struct {
	t0, dur, a, b, c0 float64
}

func newCurve(l *Load) *curve {
	c := &curve{}
	rate := l.StartRate
	for _, s := range l.Stages {
		d := s.Duration.Seconds()
		p := piece{t0: c.end, dur: d, a: rate, b: s.Target, c0: c.total}
		c.pieces = append(c.pieces, p)
		c.end += d
		c.total += (rate + s.Target) / 2 * d
		rate = s.Target
	}
	return c
}

// cum is N(t), the number of arrivals due in [0, t).
func (c *curve) cum(t float64) float64 {
	if t <= 0 {
		return 0
	}
	for _, p := range c.pieces {
		if t < p.t0+p.dur {
			tau := t - p.t0
			k := (p.b - p.a) / p.dur
			return p.c0 + p.a*tau + k*tau*tau/2
		}
	}
	return c.total
}

// at is the inverse of cum: the time at which x arrivals are due. ok is
// false when x is beyond the end of the profile.
func (c *curve) at(x float64) (t float64, ok bool) {
	for _, p := range c.pieces {
		c1 := p.c0 + (p.a+p.b)/2*p.dur
		if x >= c1 {
			continue
		}
		dx := x - p.c0
		if dx <= 0 {
			return p.t0, true
		}
		// Solve a·τ + k·τ²/2 = dx for τ in the form that stays exact when
		// k is 0 or tiny and does not cancel when k < 0.
		k := (p.b - p.a) / p.dur
		tau := 2 * dx / (p.a + math.Sqrt(p.a*p.a+2*k*dx))
		return p.t0 + math.Min(tau, p.dur), true
	}
	return 0, false
}

// arrivals hands out the arrivals of one segment in order. It is shared by
// all workers of a run.
type arrivals interface {
	// next returns the next arrival's number and intended offset from the
	// start of the run; ok is false when the schedule is exhausted.
	next() (n int64, at time.Duration, ok bool)
}

// count is the number of arrivals (of the segment) due in [0, t).
func (c *curve) count(t time.Duration, seg Segment) int64 {
	m := int64(math.Ceil(c.cum(t.Seconds()) - 1e-9))
	if max := c.countAll(); m > max {
		m = max
	}
	return segmentShare(m, seg)
}

// countAll is the number of arrivals of the whole profile.
func (c *curve) countAll() int64 {
	return int64(math.Ceil(c.total - 1e-9))
}

// segmentShare is how many of arrivals 0..m-1 belong to seg.
func segmentShare(m int64, seg Segment) int64 {
	if seg.Whole() {
		return m
	}
	i, n := int64(seg.Index), int64(seg.Count)
	if m <= i {
		return 0
	}
	return (m-i-1)/n + 1
}

// uniformArrivals spaces arrivals evenly along the curve: arrival n is due
// when N(t) = n. Claiming is one atomic add; the time is a pure function of n.
type uniformArrivals struct {
	c     *curve
	seg   Segment
	max   int64 // arrivals in the whole profile
	claim atomic.Int64
}

func (u *uniformArrivals) next() (int64, time.Duration, bool) {
	k := u.claim.Add(1) - 1
	n := k
	if !u.seg.Whole() {
		n = k*int64(u.seg.Count) + int64(u.seg.Index)
	}
	if n >= u.max {
		return 0, 0, false
	}
	t, ok := u.c.at(float64(n))
	if !ok || t >= u.c.end {
		return 0, 0, false
	}
	return n, seconds(t), true
}

// poissonArrivals draws exponential gaps in the curve's "arrival count"
// axis and maps them back to time, which gives a non-homogeneous Poisson
// process with the curve as its intensity. The draws are sequential, so a
// mutex guards the generator; segments skip the arrivals of other segments
// so that every segment sees the same global sequence.
type poissonArrivals struct {
	c   *curve
	seg Segment
	mu  sync.Mutex
	// guarded by mu
	rng *rand.Rand
	x   float64 // cumulative exponential draws
	n   int64   // next arrival number
}

func newPoisson(c *curve, seg Segment, seed uint64) *poissonArrivals {
	return &poissonArrivals{c: c, seg: seg, rng: rand.New(rand.NewPCG(seed, 0x6c6f616467617465))}
}

func (p *poissonArrivals) next() (int64, time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		p.x += p.rng.ExpFloat64()
		n := p.n
		p.n++
		t, ok := p.c.at(p.x)
		if !ok || t >= p.c.end {
			return 0, 0, false
		}
		if p.seg.Whole() || n%int64(p.seg.Count) == int64(p.seg.Index) {
			return n, seconds(t), true
		}
	}
}

func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}
