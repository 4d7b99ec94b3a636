package engine

// The open model's worker pool. There is no dispatcher goroutine and no
// channel message per arrival: each free worker claims the next arrival from
// the shared source (an atomic add for uniform arrivals), waits for its
// intended time and runs it. The pool grows on demand: when a worker starts
// an iteration and no other worker is waiting for the next arrival, it
// starts one more, up to MaxInFlight. So at any time either someone is
// waiting for the next arrival or MaxInFlight iterations are running, which
// is exactly when an arrival must wait (Overload Wait: it is claimed late
// and its lateness counts in its latency) or be dropped (Overload Drop).

// poolFull reports whether the open model runs MaxInFlight workers.
func (r *run) poolFull() bool { return r.workers.Load() >= int64(r.plan.Load.MaxInFlight) }

// spawn starts one more worker unless the pool is full.
func (r *run) spawn() {
	for {
		n := r.workers.Load()
		if n >= int64(r.plan.Load.MaxInFlight) {
			return
		}
		if r.workers.CompareAndSwap(n, n+1) {
			r.wg.Add(1)
			go r.openWorker(int(n))
			return
		}
	}
}

func (r *run) openWorker(id int) {
	defer r.wg.Done()
	defer r.recoverPanic("worker")
	w := r.newWorker(id)
	if r.plan.Load.Slack > 0 {
		w.x.pace = w.deferRead
		w.x.paceMin = 10 * r.plan.Load.Slack
	}
	for !r.stopping() {
		r.waiting.Add(1)
		n, at, ok := r.src.next()
		late := ok && r.since() > at
		if !ok || !w.until(at) {
			r.waiting.Add(-1)
			return
		}
		if r.waiting.Add(-1) == 0 {
			r.spawn()
		}
		if late && r.poolFull() && r.plan.Load.Overload == Drop {
			w.shard.recordDrop()
			continue
		}
		if r.hardStopped() {
			return
		}
		w.shard.recordStart(r.since() - at)
		w.iterate(n, r.flowOf(n), at)
	}
}
