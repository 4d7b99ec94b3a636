package engine

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// The closed model: a number of users, each running iterations back to back
// with Load.Think between them. The number follows the stages (linear
// between targets); a controller adjusts it every tick. Latency here is
// service time by nature: a user only starts when its previous iteration
// ended, so there is no intended time to fall behind.

// userTick is how often the controller adjusts the number of users.
const userTick = 100 * time.Millisecond

// usersAt is the number of users the profile asks for at offset t.
func usersAt(l *Load, t time.Duration) int {
	from := l.StartRate
	for _, s := range l.Stages {
		if t < s.Duration {
			f := float64(t) / float64(s.Duration)
			return int(math.Round(from + (s.Target-from)*f))
		}
		t -= s.Duration
		from = s.Target
	}
	return int(math.Round(from))
}

// segmentUsers is the number of users segment seg runs at t: users are
// numbered, and user u belongs to segment u mod Count, so that the
// segments of a distributed run add up to the whole profile's users.
func segmentUsers(l *Load, t time.Duration, seg Segment) int {
	return int(segmentShare(int64(usersAt(l, t)), seg))
}

// segmentRate is a segment's share of the closed model's max_rate.
func segmentRate(rate float64, seg Segment) float64 {
	if seg.Whole() {
		return rate
	}
	return rate / float64(seg.Count)
}

// users tracks which user goroutines are alive, by index.
type users struct {
	mu sync.Mutex
	// guarded by mu
	alive []bool
}

func (r *run) controlUsers() {
	defer r.wg.Done()
	defer r.recoverPanic("worker")
	var limiter *pacer
	if rate := segmentRate(r.plan.Load.MaxRate, r.plan.Segment); rate > 0 {
		limiter = &pacer{every: time.Duration(float64(time.Second) / rate)}
	}
	us := &users{}
	var target atomic.Int64
	want := func(i int) bool { return int64(i) < target.Load() }
	tick := time.NewTicker(userTick)
	defer tick.Stop()
	for {
		n := segmentUsers(&r.plan.Load, r.since(), r.plan.Segment)
		target.Store(int64(n))
		us.mu.Lock()
		for len(us.alive) < n {
			us.alive = append(us.alive, false)
		}
		for i := 0; i < n; i++ {
			if !us.alive[i] {
				us.alive[i] = true
				r.wg.Add(1)
				go r.user(i, us, want, limiter)
			}
		}
		us.mu.Unlock()
		select {
		case <-tick.C:
		case <-r.stop:
			return
		}
	}
}

func (r *run) user(i int, us *users, want func(int) bool, limiter *pacer) {
	defer r.wg.Done()
	defer r.recoverPanic("worker")
	defer func() {
		us.mu.Lock()
		us.alive[i] = false
		us.mu.Unlock()
	}()
	w := r.newWorker(i)
	for !r.stopping() && want(i) {
		if limiter != nil && !w.sleep(limiter.reserve(r.since())-r.since()) {
			return
		}
		n := r.n.Add(1) - 1
		start := r.since()
		w.shard.recordStart(0, 0) // no schedule: neither lag nor slot wait
		w.iterate(n, r.flowOf(n), start)
		if r.plan.Load.Think > 0 && !w.sleep(r.plan.Load.Think) {
			return
		}
	}
}

// pacer spaces the closed model's iterations by every (the max_rate
// ceiling, as Gatling's throttle). Each user reserves the next free slot and
// sleeps until it on its own timer, so a stop wakes every waiting user at
// once; go.uber.org/ratelimit's Take cannot be cancelled, and a thousand
// users queued in it would hold a stop for users/max_rate seconds. A slot
// missed while nobody was waiting is not made up later (no burst).
type pacer struct {
	every time.Duration
	mu    sync.Mutex
	// guarded by mu
	next time.Duration // the next free slot, as an offset of the run
}

// reserve returns the slot of the caller: now, or the next free one.
func (p *pacer) reserve(now time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := max(p.next, now)
	p.next = at + p.every
	return at
}
