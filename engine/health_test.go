package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// period builds a one-step Period with n lag samples of lag each.
func period(planned, started int64, n int, lag time.Duration, errs map[Kind]int64) *Period {
	h := histogram.New()
	for range n {
		h.Record(lag)
	}
	p := &Period{Planned: planned, Started: started, Lag: h, Steps: [][]StepStats{{{}}}}
	for k, c := range errs {
		p.Steps[0][0].Errors[k] = c
	}
	return p
}

// dropped sets p's arrivals that found no free slot.
func dropped(p *Period, n int64) *Period {
	p.Dropped = n
	return p
}

func checks(ps []HealthProblem) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Check)
	}
	return strings.Join(out, ",")
}

func TestTolerancesProblems(t *testing.T) {
	def := DefaultTolerances()
	loose := Tolerances{MaxLagP99: time.Second, MinAchieved: 0.5, AllowLocalErrors: true}
	for _, tc := range []struct {
		name  string
		tol   Tolerances
		model Model
		p     *Period
		want  string
	}{
		{"healthy", def, Open, period(100, 100, 100, time.Millisecond, nil), ""},
		{"lag p99 over 50 ms", def, Open, period(100, 100, 100, 60*time.Millisecond, nil), "schedule_lag"},
		{"94% started", def, Open, period(100, 94, 94, time.Millisecond, nil), "achieved"},
		{"95% started is enough", def, Open, period(100, 95, 95, time.Millisecond, nil), ""},
		{"one fd error", def, Open, period(100, 100, 100, 0, map[Kind]int64{KindFD: 1}), "fd"},
		{"port and fd", def, Open, period(100, 100, 100, 0, map[Kind]int64{KindFD: 1, KindLocalPort: 2}), "local_port,fd"},
		{"remote errors are not the generator's", def, Open, period(100, 100, 100, 0, map[Kind]int64{KindRefused: 100}), ""},
		{"looser tolerances from the generator block", loose, Open,
			period(100, 60, 60, 500*time.Millisecond, map[Kind]int64{KindFD: 1}), ""},
		{"closed model: no schedule", def, Closed, period(0, 10, 10, time.Second, nil), ""},
		// 80 of 100 found every slot busy (max_in_flight full of slow
		// responses): the target's doing; the generator started all 20
		// that had a free slot.
		{"arrivals without a free slot are not the generator's", def, Open, dropped(period(100, 20, 20, time.Millisecond, nil), 80), ""},
		{"the generator's shortfall among those that had a slot", def, Open, dropped(period(100, 10, 10, time.Millisecond, nil), 80), "achieved"},
		{"every arrival found no slot", def, Open, dropped(period(100, 0, 0, 0, nil), 100), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checks(tc.tol.Problems(tc.model, tc.p)); got != tc.want {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTolerancesLive(t *testing.T) {
	def := DefaultTolerances()
	for _, tc := range []struct {
		name      string
		prev, cur *Period
		want      string
	}{
		// At the first snapshot nothing is known about "a whole interval late".
		{"first snapshot", nil, period(100, 80, 80, time.Millisecond, nil), ""},
		// 10 due by the previous snapshot, 5 started: too few to judge.
		{"too early", period(10, 5, 5, 0, nil), period(20, 5, 5, time.Millisecond, nil), ""},
		// Arrivals due just before the snapshot and not started yet are fine.
		{"in-flight edge", period(100, 99, 99, 0, nil), period(200, 190, 190, time.Millisecond, nil), ""},
		{"an interval behind", period(100, 60, 60, 0, nil), period(200, 80, 80, time.Millisecond, nil), "achieved"},
		{"lag with enough samples", nil, period(100, 100, 100, time.Second, nil), "schedule_lag"},
		{"lag with few samples", nil, period(10, 10, 10, time.Second, nil), ""},
		{"local errors at once", nil, period(1, 1, 1, 0, map[Kind]int64{KindLocalPort: 1}), "local_port"},
		// 100 due by the previous snapshot, 60 started, 40 waiting for a
		// free slot (a frozen target): the target's backlog.
		{"an interval behind, waiting for slots", period(100, 60, 60, 0, nil), period(200, 60, 60, time.Millisecond, nil), ""},
		{"an interval behind, dropped", period(100, 60, 60, 0, nil), dropped(period(200, 60, 60, time.Millisecond, nil), 40), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var waiting int64
			if strings.HasSuffix(tc.name, "waiting for slots") {
				waiting = 140
			}
			if got := checks(def.Live(Open, tc.prev, tc.cur, waiting)); got != tc.want {
				t.Fatalf("live problems %q, want %q", got, tc.want)
			}
		})
	}
}
