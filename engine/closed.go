package engine

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/ratelimit"
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

// users tracks which user goroutines are alive, by index.
type users struct {
	mu sync.Mutex
	// guarded by mu
	alive []bool
}

func (r *run) controlUsers() {
	defer r.wg.Done()
	defer r.recoverPanic("worker")
	var limiter ratelimit.Limiter
	if r.plan.Load.MaxRate > 0 {
		limiter = ratelimit.New(int(math.Max(1, math.Round(r.plan.Load.MaxRate))))
	}
	us := &users{}
	var target atomic.Int64
	want := func(i int) bool { return int64(i) < target.Load() }
	tick := time.NewTicker(userTick)
	defer tick.Stop()
	for {
		n := usersAt(&r.plan.Load, r.since())
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

func (r *run) user(i int, us *users, want func(int) bool, limiter ratelimit.Limiter) {
	defer r.wg.Done()
	defer r.recoverPanic("worker")
	defer func() {
		us.mu.Lock()
		us.alive[i] = false
		us.mu.Unlock()
	}()
	w := r.newWorker(i)
	for !r.stopping() && want(i) {
		if limiter != nil {
			limiter.Take()
			if r.stopping() {
				return
			}
		}
		n := r.n.Add(1) - 1
		start := r.since()
		w.shard.recordStart(0)
		w.iterate(n, r.flowOf(n), start)
		if r.plan.Load.Think > 0 && !w.sleep(r.plan.Load.Think) {
			return
		}
	}
}
