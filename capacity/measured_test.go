package capacity

import (
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// TestMeasuredLeavesOutTheWarmup: the evaluator sees a Total summed from
// the intervals that began at or after the warm-up's end, and no warm-up
// snapshot but a final one.
func TestMeasuredLeavesOutTheWarmup(t *testing.T) {
	plan := &engine.Plan{Flows: []engine.Flow{{Name: "f", Steps: []engine.Step{{Name: "s"}}}}}
	var got []*engine.Snapshot
	m := &measured{from: time.Second, sum: engine.NewSum(plan), next: engine.ObserverFunc(func(s *engine.Snapshot) { got = append(got, s) })}
	interval := func(seq int, started int64, final bool) *engine.Snapshot {
		p := engine.NewSum(plan).Period(time.Duration(seq-1)*500*time.Millisecond, time.Duration(seq)*500*time.Millisecond)
		p.Started = started
		return &engine.Snapshot{Seq: seq, Interval: p, Total: p, Final: final}
	}
	for i, n := range []int64{100, 100, 7, 5} {
		m.Observe(interval(i+1, n, i == 3))
	}
	if len(got) != 2 {
		t.Fatalf("%d snapshots forwarded, want the 2 after the warm-up", len(got))
	}
	if tot := got[1].Total; tot.Started != 12 || tot.Start != time.Second || tot.End != 2*time.Second || !got[1].Final {
		t.Fatalf("total: %d started over %v..%v (final %v), want 12 over 1s..2s", tot.Started, tot.Start, tot.End, got[1].Final)
	}
	// A step cut during its warm-up still ends the evaluation.
	got = nil
	m = &measured{from: time.Second, sum: engine.NewSum(plan), next: engine.ObserverFunc(func(s *engine.Snapshot) { got = append(got, s) })}
	m.Observe(interval(1, 100, true))
	if len(got) != 1 || !got[0].Final || got[0].Total.Started != 0 || m.total != nil {
		t.Fatalf("a final warm-up snapshot: forwarded %d, want 1 empty final one and no measurement", len(got))
	}
}
