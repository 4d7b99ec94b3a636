package engine

import "time"

// The open model's worker pool. There is no dispatcher goroutine and no
// channel message per arrival: each free worker claims the next arrival from
// the shared source (an atomic add for uniform arrivals), waits for its
// intended time and runs it. The pool grows on demand: when a worker starts
// an iteration and no other worker is waiting for the next arrival, it
// starts one more, up to MaxInFlight. So at any time either someone is
// waiting for the next arrival or MaxInFlight iterations are running, which
// is exactly when an arrival must wait (Overload Wait: it is claimed late
// and its lateness counts in its latency) or be dropped (Overload Drop).
//
// Whose lateness (docs/metrics.md, schedule_lag and slot_wait): an arrival
// claimed after its time by a worker whose previous iteration ended after
// that time, in a full pool, found no free slot when it was due — every
// worker was busy with the target's responses. It waited for a slot from
// its intended time until that iteration's last response came in
// (slot_wait, the target's doing); whatever lateness remains is the
// generator's own (schedule_lag: its CPU, its clock). Under Overload Drop
// such an arrival is dropped instead (KindNoFreeSlot). Any other late start
// — a free slot, or a pool that could still grow — is the generator's.

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
		w.x.Pace = w.deferRead
		w.x.PaceMin = 10 * r.plan.Load.Slack
	}
	// freed is when this worker's last iteration ended (its last
	// response's completion): when its slot came free. Never before its
	// first iteration.
	freed := time.Duration(-1)
	for !r.stopping() {
		r.waiting.Add(1)
		n, at, ok := r.src.next()
		noSlot := ok && r.since() > at && freed > at && r.poolFull()
		if ok {
			r.noteSlotBound(noSlot)
		}
		if !ok || !w.until(at) {
			r.waiting.Add(-1)
			if ok && noSlot {
				w.shard.recordNoSlot(r.flowOf(n)) // still waiting for a slot at the stop
			}
			return
		}
		if r.waiting.Add(-1) == 0 {
			r.spawn()
		}
		if noSlot && r.plan.Load.Overload == Drop {
			w.shard.recordNoSlot(r.flowOf(n))
			continue
		}
		start := r.since()
		if r.hardStopped() || start > r.endCut {
			// Past the end of the profile: never started (counted as
			// planned but not started, or as no free slot).
			if noSlot {
				w.shard.recordNoSlot(r.flowOf(n))
			}
			r.halt()
			return
		}
		var slotWait time.Duration
		if noSlot {
			slotWait = min(freed, start) - at
		}
		w.shard.recordStart(start-at-slotWait, slotWait)
		freed = w.iterate(n, r.flowOf(n), at)
	}
}

// noteSlotBound records whether the latest arrival claimed found no free
// slot; written only when it changes, so that workers do not fight over
// the cache line.
func (r *run) noteSlotBound(v bool) {
	if r.slotBound.Load() != v {
		r.slotBound.Store(v)
	}
}
