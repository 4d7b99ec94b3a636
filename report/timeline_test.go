package report

import (
	"sync"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// TestTimelineDownsample feeds many more intervals than the timeline keeps
// and checks that it stays bounded and that counts still add up.
func TestTimelineDownsample(t *testing.T) {
	p := testPlan()
	snaps := snapshots(p, 50)
	for _, tc := range []struct {
		name      string
		max, n    int
		wantRows  int
		wantWidth float64 // seconds per full row
	}{
		{name: "under the bound: one row per interval", max: 64, n: 50, wantRows: 50, wantWidth: 1},
		{name: "one compaction", max: 32, n: 50, wantRows: 25, wantWidth: 2},
		{name: "compactions and a partial last row", max: 10, n: 50, wantRows: 7, wantWidth: 8},
		{name: "odd bound rounds down to even", max: 5, n: 50, wantRows: 4, wantWidth: 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTimeline(p, tc.max)
			for i := 0; i < tc.n; i++ {
				tl.Observe(snaps[i%len(snaps)])
			}
			pts := tl.Points()
			if len(pts) != tc.wantRows || len(pts) > tc.max {
				t.Fatalf("%d rows, want %d (bound %d)", len(pts), tc.wantRows, tc.max)
			}
			if pts[0].DT != tc.wantWidth {
				t.Errorf("first row spans %gs, want %gs", pts[0].DT, tc.wantWidth)
			}
			var reqs, errs, planned, dropped int64
			var span, maxP99 float64
			for _, pt := range pts {
				reqs += pt.Reqs
				errs += pt.Errors
				planned += pt.Planned
				dropped += pt.Dropped
				span += pt.DT
				maxP99 = max(maxP99, pt.P99)
			}
			if reqs != 9994 || errs != 250 || planned != 5000 || dropped != 3 || span != 50 {
				t.Errorf("totals reqs=%d errors=%d planned=%d dropped=%d span=%gs, want 9994 250 5000 3 50s", reqs, errs, planned, dropped, span)
			}
			if maxP99 < 800 {
				t.Errorf("max p99 %gms: the stall (800ms+) was averaged away", maxP99)
			}
			if last := pts[len(pts)-1]; last.T != 50 {
				t.Errorf("last row ends at %gs, want 50s", last.T)
			}
		})
	}
}

// TestTimelineBounded runs the real bound over a 3 h soak of 1 s intervals
// (on a one-step plan, whose reads merge nothing, to keep the test fast).
func TestTimelineBounded(t *testing.T) {
	p := &engine.Plan{Flows: []engine.Flow{{Name: "f", Weight: 1, Steps: []engine.Step{{Name: "s", Method: "GET"}}}}}
	h := histogram.New()
	h.RecordN(5*time.Millisecond, 10)
	tl := NewTimeline(p)
	const n = 3 * 3600
	for i := 0; i < n; i++ {
		per := &engine.Period{
			Start: time.Duration(i) * time.Second, End: time.Duration(i+1) * time.Second,
			Steps: [][]engine.StepStats{{{Duration: h, ServiceTime: h, Requests: 10, Failed: int64(i % 2)}}},
			Flows: []engine.FlowStats{{Iterations: 10}},
		}
		tl.Observe(&engine.Snapshot{Seq: i + 1, Interval: per, Total: per})
	}
	pts := tl.Points()
	if len(pts) > MaxPoints || len(pts) < MaxPoints/4 {
		t.Errorf("%d rows after 3 h, want between %d and %d", len(pts), MaxPoints/4, MaxPoints)
	}
	var reqs, errs int64
	for _, pt := range pts {
		reqs += pt.Reqs
		errs += pt.Errors
	}
	if reqs != 10*n || errs != n/2 {
		t.Errorf("reqs = %d, errors = %d, want %d and %d", reqs, errs, 10*n, n/2)
	}
	if last := pts[len(pts)-1]; last.T != n {
		t.Errorf("last row ends at %gs, want %ds", last.T, n)
	}
}

// TestTimelineConcurrentRead reads the timeline while it is written; run
// with -race.
func TestTimelineConcurrentRead(t *testing.T) {
	p := testPlan()
	snaps := snapshots(p, 50)
	tl := newTimeline(p, 8)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 60; i++ {
			tl.Observe(snaps[i%len(snaps)])
		}
	}()
	for i := 0; i < 60; i++ {
		if n := len(tl.Points()); n > 8+1 {
			t.Errorf("%d rows, bound 8", n)
		}
	}
	wg.Wait()
}
