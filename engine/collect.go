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
	var sentBefore, recvBefore int64
	for seq := 1; ; seq++ {
		final := false
		select {
		case <-timer.C:
		case <-done:
			final = true
		}
		now := r.since()
		iv, total := r.rec.collect(prev, now, func(per *Period) {
			if r.plan.Load.Model == Open {
				per.Planned = r.curve.count(r.plannedUntil(now), r.plan.Segment) - r.curve.count(r.plannedUntil(prev), r.plan.Segment)
			} else {
				per.Planned = per.Started
			}
			sent, recv := r.conns.bytes()
			per.BytesSent, per.BytesReceived = sent-sentBefore, recv-recvBefore
			sentBefore, recvBefore = sent, recv
		})
		snap := &Snapshot{
			Seq:          seq,
			Time:         time.Now(),
			Interval:     iv,
			Total:        total,
			InFlight:     r.inFlight.Load(),
			PlannedTotal: plannedAll,
			Final:        final,
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
