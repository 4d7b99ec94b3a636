package cluster

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// BenchmarkMerge50Agents measures the coordinator's work for one interval
// of 50 agents: decoding each agent's interval frame (JSON, HDR V2 base64,
// every check) on one goroutine per agent as the coordinator's readers do,
// merging them, and publishing the merged interval and the running total.
// The goal is under 50 ms per interval (make bench).
func BenchmarkMerge50Agents(b *testing.B) {
	const agents = 50
	p := benchPlan()
	payloads := make([][]byte, agents)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range payloads {
		w, err := encodePeriod(busyPeriod(p, rng))
		if err != nil {
			b.Fatal(err)
		}
		payloads[i], _ = json.Marshal(intervalMsg{Seq: 1, Period: w})
	}
	m := newMerger(&Coordinator{}, p, nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// As in the coordinator: each agent's frame is decoded on its own
		// reader goroutine, merged on one.
		pers := make(chan *engine.Period, agents)
		for _, pl := range payloads {
			go func() {
				var iv intervalMsg
				if err := decode(msgInterval, pl, &iv); err != nil {
					panic(err)
				}
				per, err := decodePeriod(iv.Period, p)
				if err != nil {
					panic(err)
				}
				pers <- per
			}()
		}
		s := &slot{sum: engine.NewSum(p)}
		for range agents {
			per := <-pers
			s.sum.Add(per)
			s.end = max(s.end, per.End)
		}
		m.publish(s, false)
	}
	b.ReportMetric(float64(len(payloads[0])), "bytes/agent-interval")
}

// benchPlan has 3 flows of 3 steps with status trends on, a heavy plan.
func benchPlan() *engine.Plan {
	p := &engine.Plan{Name: "bench", StatusTrends: true,
		Load: engine.Load{StartRate: 1000, Stages: []engine.Stage{{Duration: time.Minute, Target: 1000}}}}
	for f := range 3 {
		fl := engine.Flow{Name: string(rune('a' + f)), Weight: 1}
		for s := range 3 {
			fl.Steps = append(fl.Steps, engine.Step{Name: string(rune('a'+f)) + string(rune('1'+s)), Method: "GET", URL: "http://127.0.0.1:1/"})
		}
		p.Flows = append(p.Flows, fl)
	}
	return p
}

// busyPeriod is one second of an agent at 1000/s spread over the steps,
// latencies log-normal around 20 ms with a tail, a few 5xx.
func busyPeriod(p *engine.Plan, rng *rand.Rand) *engine.Period {
	per := &engine.Period{End: time.Second, Planned: 1000, Started: 1000}
	lag := histogram.New()
	for _, f := range p.Flows {
		steps := make([]engine.StepStats, len(f.Steps))
		for i := range steps {
			d, svc, ok := histogram.New(), histogram.New(), histogram.New()
			for range 111 {
				v := time.Duration(float64(20*time.Millisecond) * rng.ExpFloat64() * rng.ExpFloat64())
				d.Record(v)
				svc.Record(v / 2)
				ok.Record(v)
				lag.Record(time.Duration(rng.IntN(200)) * time.Microsecond)
			}
			steps[i] = engine.StepStats{Duration: d.Freeze(), ServiceTime: svc.Freeze(), Requests: 111, Failed: 1}
			steps[i].ByClass[2] = ok.Freeze()
			steps[i].Status[2], steps[i].Status[5], steps[i].FailedByClass[5] = 110, 1, 1
		}
		per.Steps = append(per.Steps, steps)
		per.Flows = append(per.Flows, engine.FlowStats{Iterations: 333})
	}
	per.Lag = lag.Freeze()
	return per
}
