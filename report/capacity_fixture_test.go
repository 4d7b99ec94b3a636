package report

import (
	"testing"
	"time"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// The synthetic capacity search of the golden files (issue 18): the real
// search strategy (capacity.Search) chooses every rate from the verdicts,
// and the real evaluator judges each step's measurement, so the steps, the
// thresholds' results and the answer agree as a real search's do. The
// service behaves like a queue whose latency climbs steeply past ~700/s:
//
//	100, 200, 400/s  pass
//	800/s            fail: 6% errors, aborted early by rate < 1% (abort_on_fail)
//	566/s            pass
//	673/s            undecided (the 95% interval of p99 straddles 50ms)
//	673/s            pass, measured twice as long
//	734/s            fail: p(99) < 50ms broke
//	703/s            pass: the requirement (700/s) is met, within 5%
type capacityStepSpec struct {
	rate     float64
	longer   int
	verdict  capacity.Verdict
	k        float64 // the body's latency factor
	tailMS   float64 // the centre of the slowest 2%
	errPerK  int     // failed requests per thousand
	aborted  bool
	measured time.Duration // the measurement's length (an aborted step's is short)
	achieved float64       // the share of the offered arrivals started
}

var capacitySpecs = []capacityStepSpec{
	{rate: 100, longer: 1, verdict: capacity.Pass, k: 1, tailMS: 12, achieved: 1},
	{rate: 200, longer: 1, verdict: capacity.Pass, k: 1, tailMS: 13, achieved: 1},
	{rate: 400, longer: 1, verdict: capacity.Pass, k: 1.1, tailMS: 16, achieved: 1},
	{rate: 800, longer: 1, verdict: capacity.Fail, k: 9, tailMS: 900, errPerK: 60, aborted: true, measured: 6 * time.Second, achieved: 0.985},
	{rate: 566, longer: 1, verdict: capacity.Pass, k: 1.4, tailMS: 24, achieved: 1},
	{rate: 673, longer: 1, verdict: capacity.Undecided, k: 2, tailMS: 51, achieved: 1},
	{rate: 673, longer: 2, verdict: capacity.Pass, k: 2, tailMS: 45, achieved: 1},
	{rate: 734, longer: 1, verdict: capacity.Fail, k: 2.6, tailMS: 70, errPerK: 2, achieved: 0.998},
	{rate: 703, longer: 1, verdict: capacity.Pass, k: 2.2, tailMS: 43, achieved: 1},
}

// capacityThresholds are the scenario's SLO.
func capacityThresholds() []slo.Threshold {
	return []slo.Threshold{
		{Metric: "http_req_duration", Expr: "p(95) < 30ms"},
		{Metric: "http_req_duration", Expr: "p(99) < 50ms", Confidence: 0.95},
		{Metric: "http_req_failed", Expr: "rate < 1%", AbortOnFail: true},
	}
}

var capacityTiming = capacity.Timing{Warmup: 5 * time.Second, Step: 30 * time.Second, Cooldown: 2 * time.Second, Budget: 10 * time.Minute}

func capacityPlan(rate float64, longer int) *engine.Plan {
	return &engine.Plan{
		Name: "catalog-capacity",
		Load: engine.Load{
			Model:       engine.Open,
			StartRate:   rate,
			Stages:      []engine.Stage{{Duration: capacityTiming.Warmup + capacityTiming.Step*time.Duration(longer), Target: rate}},
			MaxInFlight: 1000,
		},
		Flows: []engine.Flow{{Name: "browse", Weight: 1, Steps: []engine.Step{
			{Name: "items", Method: "GET", URL: "http://127.0.0.1/items"},
		}}},
		Interval: time.Second,
	}
}

// capacityMeasurement is a step's measurement: rate × measured arrivals
// (times achieved), latencies from a fixed pattern scaled by k with the
// slowest 2% spread around tailMS, and errPerK failures per thousand.
func capacityMeasurement(p *engine.Plan, sp capacityStepSpec, measured time.Duration) *engine.Period {
	per := newPeriod(p, capacityTiming.Warmup, capacityTiming.Warmup+measured)
	per.Planned = int64(sp.rate * measured.Seconds())
	per.Started = int64(float64(per.Planned) * sp.achieved)
	st := &per.Steps[0][0]
	for n := 0; n < int(per.Started); n++ {
		lat := time.Duration(sp.k * float64(2*time.Millisecond+time.Duration(n%13)*400*time.Microsecond+time.Duration(n%7)*100*time.Microsecond))
		if n%50 == 7 {
			frac := float64((n/50)%37) / 36
			lat = time.Duration(sp.tailMS * (0.6 + 0.8*frac) * float64(time.Millisecond))
		}
		per.Lag.Record(time.Duration(n%3) * 50 * time.Microsecond)
		st.Duration.Record(lat)
		st.ServiceTime.Record(lat * 4 / 5)
		st.Requests++
		st.Status[2]++
		if sp.errPerK > 0 && n%1000 < sp.errPerK {
			st.Failed++
			st.Errors[engine.KindStatus5xx]++
			st.Status[2]--
			st.Status[5]++
			st.FailedByClass[5]++
		}
		per.BytesSent += 90
		per.BytesReceived += 1500
		per.Flows[0].Iterations++
		per.Flows[0].Duration.Record(lat)
	}
	per.SumSteps()
	return per
}

// capacityOutcome runs the synthetic search: capacity.Search picks each
// rate, the evaluator judges each step.
func capacityOutcome(t testing.TB) *capacity.Outcome {
	t.Helper()
	cfg := capacity.Config{From: 100, Max: 3200, Precision: 0.05, MinRate: 700}
	search, err := capacity.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := &capacity.Outcome{Config: cfg, Timing: capacityTiming, Started: t0}
	at := t0
	for i, sp := range capacitySpecs {
		next, ok := search.Next()
		if !ok || next.Rate != sp.rate || next.Longer != sp.longer {
			t.Fatalf("step %d: the search asks for %+v (more: %v), the fixture has %v/s × %d", i, next, ok, sp.rate, sp.longer)
		}
		if i > 0 {
			at = at.Add(capacityTiming.Cooldown)
		}
		p := capacityPlan(sp.rate, sp.longer)
		measured := sp.measured
		if measured == 0 {
			measured = capacityTiming.Step * time.Duration(sp.longer)
		}
		per := capacityMeasurement(p, sp, measured)
		aborted := false
		ev, err := slo.New(p, capacityThresholds(), slo.Options{Abort: func(slo.Result) { aborted = true }})
		if err != nil {
			t.Fatal(err)
		}
		ev.Observe(&engine.Snapshot{Seq: 1, Time: at.Add(per.End), Interval: per, Total: per})
		ev.Observe(&engine.Snapshot{Seq: 2, Time: at.Add(per.End), Interval: newPeriod(p, per.End, per.End), Total: per, Final: true, StoppedAt: per.End})
		st := capacity.StepResult{
			Index: i, Rate: sp.rate, Longer: sp.longer, Measured: per, Measuring: measured,
			Results: ev.Results(), Aborted: aborted, Started: at,
			Elapsed: capacityTiming.Warmup + measured + 250*time.Millisecond, Plan: p,
		}
		if aborted != sp.aborted {
			t.Fatalf("step %d at %v/s: aborted %v, the fixture wants %v: %+v", i, sp.rate, aborted, sp.aborted, st.Results)
		}
		st.Verdict = judgeStep(st)
		if st.Verdict != sp.verdict {
			t.Fatalf("step %d at %v/s: %v, the fixture wants %v: %+v", i, sp.rate, st.Verdict, sp.verdict, st.Results)
		}
		out.Steps = append(out.Steps, st)
		search.Record(st.Verdict)
		at = at.Add(st.Elapsed)
	}
	if _, more := search.Next(); more {
		t.Fatalf("the search goes on after the fixture's steps: %+v", search.Answer())
	}
	out.Answer, out.Elapsed = search.Answer(), at.Sub(t0)
	return out
}

// judgeStep is capacity's verdict of a step (capacity.judge), for
// results without generator problems.
func judgeStep(st capacity.StepResult) capacity.Verdict {
	if st.Aborted {
		return capacity.Fail
	}
	undecided := false
	for _, r := range st.Results {
		switch {
		case r.Skipped || r.Passed || r.Threshold.Severity == slo.Warn:
		case r.Undecided && r.Threshold.Undecided == slo.Inconclusive:
			undecided = true
		default:
			return capacity.Fail
		}
	}
	if undecided {
		return capacity.Undecided
	}
	return capacity.Pass
}

// capacityRun is the report.Run of the synthetic search, as loadgate
// capacity makes it: the step at the capacity stands for the run.
func capacityRun(t testing.TB) Run {
	t.Helper()
	o := capacityOutcome(t)
	final, at := CapacityRun(o)
	if at == nil {
		t.Fatal("no step at the capacity")
	}
	return Run{
		Tool: "loadgate", Version: "v0.1.0-test",
		Scenario: Scenario{Name: "catalog-capacity", Path: "testdata/capacity.yaml", SHA256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"},
		Plan:     at.Plan, Started: t0, Ended: t0.Add(o.Elapsed),
		Final: final, Thresholds: at.Results, Capacity: o,
		Status:  verdict.Passed,
		Reasons: []string{"capacity: " + CapacityAnswer(CapacityOf(o, nil))},
	}
}
