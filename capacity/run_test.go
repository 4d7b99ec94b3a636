package capacity_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/internal/demotarget"
	"github.com/loadgate/loadgate/scenarios"
)

// searchScenario is a search of /queue/WORKERS/10ms on base with p(99) <
// 50ms: the service's capacity is WORKERS/10ms.
func searchScenario(t *testing.T, base string, workers int, search, extraLoad string) *scenarios.Scenario {
	t.Helper()
	doc := fmt.Sprintf(`name: capacity
base_url: %s
load:
  interval: 250ms
  search: { %s }
%s
flows:
  - name: q
    steps: [ { name: q, get: /queue/%d/10ms } ]
thresholds:
  http_req_duration: [ "p(99) < 50ms" ]
`, base, search, extraLoad, workers)
	sc, err := scenarios.Parse("capacity.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runnerOf(sc *scenarios.Scenario) *capacity.Runner {
	return &capacity.Runner{Plan: &sc.Plan, Thresholds: sc.Thresholds, Tolerances: sc.Generator, Timing: sc.Search.Timing,
		Run: (&engine.Engine{}).Run}
}

// TestSearchFindsKnownCapacity: against a service of 4 workers × 10 ms
// (capacity 400/s), the search ends with a passing rate and a failing one
// within its precision of each other that bracket the capacity, having
// doubled and then bisected; every step ran the warm-up and the step it
// was given, and the answer names both rates.
func TestSearchFindsKnownCapacity(t *testing.T) {
	srv := httptest.NewServer(demotarget.New(demotarget.Options{Seed: 1}).Handler())
	defer srv.Close()
	sc := searchScenario(t, srv.URL, 4, "from: 100, max: 1600, warmup: 500ms, step: 1500ms, precision: 10%", "")
	out, err := runnerOf(sc).Search(context.Background(), sc.Search.Config)
	if err != nil {
		t.Fatal(err)
	}
	a := out.Answer
	for _, st := range out.Steps {
		t.Logf("step %d: %g/s %s (%d requests measured over %v)", st.Index, st.Rate, st.Verdict, st.Measured.Started, st.Measuring)
	}
	t.Logf("answer: %+v", a)
	if !a.Done || a.AtLeast || a.Capacity == 0 || a.FirstFailing == 0 {
		t.Fatalf("answer %+v, want a capacity between two rates", a)
	}
	if a.Precision > 0.10 {
		t.Errorf("precision %.3f, want within 10%%", a.Precision)
	}
	// 400/s is the service's capacity; its timers make each 10 ms a little
	// longer, so the true knee is at or a little under 400/s. The search
	// brackets it.
	if a.Capacity > 440 || a.FirstFailing < 300 {
		t.Errorf("capacity %g/s (first failing %g/s), want the knee near 400/s bracketed", a.Capacity, a.FirstFailing)
	}
	if n := len(out.Steps); n > 9 {
		t.Errorf("%d steps, want at most 9 (a sweep of 50/s steps would take 8 to reach 400/s)", n)
	}
	for _, st := range out.Steps {
		if st.Measured == nil {
			t.Fatalf("step %d measured nothing", st.Index)
		}
		// The measurement excludes the warm-up: about rate × step arrivals.
		want := st.Rate * 1.5
		if got := float64(st.Measured.Planned); got < 0.9*want || got > 1.1*want {
			t.Errorf("step %d at %g/s: %v arrivals planned in the measurement, want about %v (warm-up left out)", st.Index, st.Rate, got, want)
		}
	}
}

// TestSearchStopsOnCancel: a search interrupted during a step returns at
// once with the steps so far, the cut step kept and not judged.
func TestSearchStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(demotarget.New(demotarget.Options{Seed: 1}).Handler())
	defer srv.Close()
	sc := searchScenario(t, srv.URL, 64, "from: 50, max: 200, warmup: 0s, step: 30s", "")
	ctx, cancel := context.WithCancelCause(context.Background())
	r := runnerOf(sc)
	stop := errors.New("signal")
	r.Observers = []engine.Observer{engine.ObserverFunc(func(s *engine.Snapshot) {
		if s.Seq == 2 {
			cancel(stop)
		}
	})}
	start := time.Now()
	out, err := r.Search(ctx, sc.Search.Config)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the search took %v to stop", el)
	}
	if !errors.Is(out.Interrupted, stop) || len(out.Steps) != 1 || out.Steps[0].Verdict != capacity.Undecided || !out.Answer.Done {
		t.Fatalf("outcome %+v, want interrupted after one unjudged step", out)
	}
}
