package engine

import (
	"time"
)

// collect runs on its own goroutine: once per interval (aligned to the run's
// start) it swaps the shards, publishes a Snapshot to every observer, and
// after done is closed it publishes the final one and returns it.
func (r *run) collect(obs []Observer, done <-chan struct{}) *Snapshot {
	interval := r.plan.Interval
	timer := time.NewTimer(interval)
	defer timer.Stop()
	plannedAll := int64(0)
	if r.plan.Load.Model == Open {
		plannedAll = r.curve.count(r.plan.Load.Duration()+time.Nanosecond, r.plan.Segment)
	}
	var prev time.Duration
	var sentBefore, recvBefore, plannedBefore int64
	planned := r.plannedCounter()
	for seq := 1; ; seq++ {
		final := false
		select {
		case <-timer.C:
		case <-done:
			final = true
		}
		now := r.since()
		var waiting int64
		iv, total := r.rec.collect(prev, now, func(per *Period) {
			if r.plan.Load.Model == Open {
				n := planned(r.plannedUntil(now))
				per.Planned, plannedBefore = n-plannedBefore, n
				// Arrivals due and neither started nor dropped: waiting for
				// a slot, or for the generator.
				left := n - r.rec.total.Started - per.Started - r.rec.total.Dropped - per.Dropped
				slotBound := r.slotBound.Load() || final && r.fullAtStop.Load()
				switch {
				case left <= 0 || !slotBound:
				case final:
					// Still waiting for a free slot when the load stopped:
					// they found none (KindNoFreeSlot). Otherwise they are
					// the generator's shortfall, planned but not started.
					r.addNoSlot(per, left)
				default:
					waiting = left
				}
			} else {
				per.Planned = per.Started
			}
			sent, recv := r.conns.Bytes()
			per.BytesSent, per.BytesReceived = sent-sentBefore, recv-recvBefore
			sentBefore, recvBefore = sent, recv
		})
		snap := &Snapshot{
			Seq:           seq,
			Time:          time.Now(),
			Interval:      iv,
			Total:         total,
			InFlight:      r.inFlight.Load(),
			Waiting:       waiting,
			PlannedTotal:  plannedAll,
			Final:         final,
			Clock:         r.clockKind,
			ClockFallback: r.clockFallback,
		}
		if final {
			snap.Wakeups, snap.WakeLate = r.clock.wakeStats()
			snap.StoppedAt = now
			if s := time.Duration(r.stoppedAt.Load()); s > 0 {
				snap.StoppedAt = s
			}
		}
		for k := range snap.ErrorSamples {
			if m := r.rec.samples[k].Load(); m != nil {
				snap.ErrorSamples[k] = *m
			}
		}
		live := obs[:0:0]
		for _, o := range obs {
			if r.observe(o, snap) {
				live = append(live, o)
			}
		}
		obs = live
		if final {
			return snap
		}
		prev = now
		// Align to the next boundary so intervals do not drift.
		next := time.Duration(seq+1) * interval
		timer.Reset(max(next-r.since(), time.Millisecond))
	}
}

// addNoSlot counts n arrivals that were still waiting for a free slot
// when the load stopped as dropped and as failed requests (KindNoFreeSlot)
// of their flows' first steps, split over the flows by weight (largest
// remainder first, so that the parts add up to n).
func (r *run) addNoSlot(per *Period, n int64) {
	per.Dropped += n
	total := 0
	for _, f := range r.plan.Flows {
		total += f.Weight
	}
	parts := make([]int64, len(r.plan.Flows))
	rems := make([]int64, len(r.plan.Flows))
	var given int64
	for fi, f := range r.plan.Flows {
		parts[fi] = n / int64(total) * int64(f.Weight)
		q := n % int64(total) * int64(f.Weight)
		parts[fi] += q / int64(total)
		rems[fi] = q % int64(total)
		given += parts[fi]
	}
	for ; given < n; given++ {
		best := 0
		for fi := range rems {
			if rems[fi] > rems[best] {
				best = fi
			}
		}
		parts[best]++
		rems[best] = -1
	}
	for fi, k := range parts {
		if k == 0 {
			continue
		}
		st := &per.Steps[fi][0]
		if want := len(r.plan.Flows[fi].Steps[0].Checks); len(st.Checks) < want {
			st.Checks = append(st.Checks, make([]CheckCount, want-len(st.Checks))...)
		}
		st.addNoSlot(k)
	}
}

// plannedCounter returns the number of arrivals due before an offset, for
// offsets that only grow. Uniform arrivals are a pure function of the
// curve; Poisson ones are counted on a replica of the workers' source (same
// seed, same segment), since the curve gives only their expected number and
// ordinary Poisson spread would read as a generator falling behind.
func (r *run) plannedCounter() func(time.Duration) int64 {
	if r.plan.Load.Arrivals != Poisson {
		return func(t time.Duration) int64 { return r.curve.count(t, r.plan.Segment) }
	}
	src := newPoisson(r.curve, r.plan.Segment, r.plan.Load.Seed)
	var n int64
	var next time.Duration
	pending, exhausted := false, false
	return func(t time.Duration) int64 {
		for !exhausted {
			if !pending {
				var ok bool
				if _, next, ok = src.next(); !ok {
					exhausted = true
					break
				}
				pending = true
			}
			if next >= t {
				break
			}
			n++
			pending = false
		}
		return n
	}
}
