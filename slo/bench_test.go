package slo

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// benchPlan has 3 flows of 4 steps.
func benchPlan() *engine.Plan {
	p := &engine.Plan{Interval: time.Second}
	for f := 0; f < 3; f++ {
		fl := engine.Flow{Name: fmt.Sprintf("f%d", f), Weight: 1}
		for s := 0; s < 4; s++ {
			fl.Steps = append(fl.Steps, engine.Step{Name: fmt.Sprintf("f%ds%d", f, s), Method: "GET"})
		}
		p.Flows = append(p.Flows, fl)
	}
	return p
}

// bench50 is 50 thresholds: whole-run and windowed, on single steps, flows
// and the whole run, on trends, rates and counters.
func bench50() []Threshold {
	tag := func(k, v string) []engine.Tag { return []engine.Tag{{Key: k, Value: v}} }
	ths := []Threshold{
		{Metric: "http_req_duration", Expr: "p(95) < 300ms"},
		{Metric: "http_req_duration", Expr: "p(99) < 800ms"},
		{Metric: "http_req_duration", Expr: "avg < 200ms"},
		{Metric: "http_req_duration", Expr: "p(99.9) < 2s", Window: 30 * time.Second},
		{Metric: "http_req_failed", Expr: "rate < 1%"},
		{Metric: "http_req_failed", Expr: "rate < 5%", Window: 10 * time.Second},
		{Metric: "checks", Expr: "rate > 99%"},
		{Metric: "http_reqs", Expr: "rate > 100"},
		{Metric: "http_reqs", Expr: "rate > 100", Window: 10 * time.Second},
		{Metric: "http_req_service_time", Expr: "p(95) < 250ms"},
	}
	for f := 0; f < 3; f++ {
		flow := tag("flow", fmt.Sprintf("f%d", f))
		ths = append(ths,
			Threshold{Metric: "http_req_duration", Tags: flow, Expr: "p(95) < 250ms", Window: 30 * time.Second},
			Threshold{Metric: "http_req_duration", Tags: flow, Expr: "p(99) < 1s", Window: 30 * time.Second, MinSamples: 100},
			Threshold{Metric: "iteration_duration", Tags: flow, Expr: "p(95) < 3s"},
		)
		for s := 0; s < 4; s++ {
			step := tag("step", fmt.Sprintf("f%ds%d", f, s))
			ths = append(ths, Threshold{Metric: "http_req_duration", Tags: step, Expr: "p(99) < 1s", AbortOnFail: true})
			if s < 2 {
				ths = append(ths, Threshold{Metric: "http_req_failed", Tags: step, Expr: "rate < 1%", Window: 5 * time.Second})
			}
		}
	}
	for len(ths) < 50 {
		ths = append(ths, Threshold{Metric: "http_req_duration", Tags: tag("flow", "f0"), Expr: "med < 100ms", Severity: Warn, Window: 10 * time.Second})
	}
	return ths
}

// benchLoads is one interval of 1000 requests per step with latencies
// spread over 1 ms .. 1 s, and 0.5% failures.
func benchLoads(plan *engine.Plan) []load {
	var ls []load
	for f := range plan.Flows {
		for s := range plan.Flows[f].Steps {
			for i := 0; i < 50; i++ {
				lat := time.Millisecond + time.Duration(i*i)*400*time.Microsecond
				ls = append(ls, load{step: [2]int{f, s}, lat: lat, n: 20, ok: 20, checks: 20})
			}
			ls[len(ls)-1].failed = 5
		}
	}
	return ls
}

// BenchmarkObserve50 measures one Observe of 50 thresholds on a run of 12
// steps, 12,000 requests per interval. Goal: < 5 ms.
func BenchmarkObserve50(b *testing.B) {
	plan := benchPlan()
	e, err := New(plan, bench50()[:50], Options{Abort: func(Result) {}})
	if err != nil {
		b.Fatal(err)
	}
	f := newFeed(plan)
	loads := benchLoads(plan)
	snaps := make([]*engine.Snapshot, 40)
	for i := range snaps {
		snaps[i] = f.tick(loads...)
		addServiceAndFlows(snaps[i])
	}
	for _, s := range snaps { // fill the windows
		e.Observe(s)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		e.Observe(snaps[i%len(snaps)])
		i++
	}
	// CPU time (GC included) next to wall time: on a shared machine the
	// wall time also counts waiting for a CPU.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(i), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// addServiceAndFlows fills service time and iteration histograms from the
// duration ones, so that every metric of bench50 has data.
func addServiceAndFlows(s *engine.Snapshot) {
	for _, p := range []*engine.Period{s.Interval, s.Total} {
		for fi := range p.Steps {
			for si := range p.Steps[fi] {
				st := &p.Steps[fi][si]
				st.ServiceTime = st.Duration
			}
			p.Flows[fi] = engine.FlowStats{Iterations: p.Steps[fi][0].Requests, Duration: p.Steps[fi][0].Duration}
		}
		p.SumSteps() // as the collector publishes them
	}
}
