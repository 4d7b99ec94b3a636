package slo

import (
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// testPlan has two flows: browse (home, search) and checkout (pay).
func testPlan() *engine.Plan {
	return &engine.Plan{
		Interval: time.Second,
		Flows: []engine.Flow{
			{Name: "browse", Weight: 1, Steps: []engine.Step{{Name: "home", Method: "GET"}, {Name: "search", Method: "GET"}}},
			{Name: "checkout", Weight: 1, Steps: []engine.Step{{Name: "pay", Method: "POST"}}},
		},
	}
}

// Step addresses of testPlan.
var (
	home   = [2]int{0, 0}
	search = [2]int{0, 1}
	pay    = [2]int{1, 0}
)

// load is n requests of one step in one interval, all taking lat, of which
// failed failed; checks of them ran and ok held.
type load struct {
	step       [2]int
	lat        time.Duration
	n, failed  int64
	ok, checks int64
}

// feed builds the snapshots of a synthetic run, one interval per tick,
// with Totals accumulated the way the engine's collector does.
type feed struct {
	plan     *engine.Plan
	total    *engine.Period
	seq      int
	interval time.Duration
}

func newFeed(plan *engine.Plan) *feed {
	return &feed{plan: plan, interval: plan.Interval, total: emptyPeriod(plan, 0, 0)}
}

func emptyPeriod(plan *engine.Plan, start, end time.Duration) *engine.Period {
	p := &engine.Period{Start: start, End: end, Steps: make([][]engine.StepStats, len(plan.Flows)),
		Flows: make([]engine.FlowStats, len(plan.Flows))}
	for i, f := range plan.Flows {
		p.Steps[i] = make([]engine.StepStats, len(f.Steps))
	}
	return p
}

// tick publishes one interval holding loads.
func (f *feed) tick(loads ...load) *engine.Snapshot { return f.snap(false, loads) }

// final publishes the last interval.
func (f *feed) final(loads ...load) *engine.Snapshot { return f.snap(true, loads) }

func (f *feed) snap(final bool, loads []load) *engine.Snapshot {
	f.seq++
	start := f.total.End
	iv := emptyPeriod(f.plan, start, start+f.interval)
	for _, l := range loads {
		st := &iv.Steps[l.step[0]][l.step[1]]
		if st.Duration == nil {
			st.Duration = histogram.New()
		}
		st.Duration.RecordN(l.lat, l.n)
		st.Requests += l.n
		st.Failed += l.failed
		st.ChecksPassed += l.ok
		st.ChecksTotal += l.checks
	}
	f.total = merged(f.plan, f.total, iv)
	return &engine.Snapshot{Seq: f.seq, Interval: iv, Total: f.total, Final: final}
}

// merged returns a new Period: a followed by b. Neither is modified, as
// published periods are immutable.
func merged(plan *engine.Plan, a, b *engine.Period) *engine.Period {
	out := emptyPeriod(plan, a.Start, b.End)
	for fi := range out.Steps {
		for si := range out.Steps[fi] {
			x, y, o := &a.Steps[fi][si], &b.Steps[fi][si], &out.Steps[fi][si]
			o.Duration = mergeHist(x.Duration, y.Duration)
			o.Requests = x.Requests + y.Requests
			o.Failed = x.Failed + y.Failed
			o.ChecksPassed = x.ChecksPassed + y.ChecksPassed
			o.ChecksTotal = x.ChecksTotal + y.ChecksTotal
		}
	}
	return out
}

func mergeHist(a, b *histogram.Histogram) *histogram.Histogram {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		return b.Clone()
	}
	out := a.Clone()
	out.Merge(b)
	return out
}

// run feeds every snapshot to e and returns the last one.
func run(e *Evaluator, snaps ...*engine.Snapshot) *engine.Snapshot {
	for _, s := range snaps {
		e.Observe(s)
	}
	return snaps[len(snaps)-1]
}
