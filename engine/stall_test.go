package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// stallServer answers at once, except that every 5 s it freezes every
// response for 1 s (from second 2 to 3 of each period): 20% of the time
// stalled, as in Gil Tene's coordinated omission example. A run of a
// whole number of periods does not end in a stall, which would leave the
// arrivals still waiting for a slot unstarted (they found no free slot).
func stallServer(t *testing.T) *httptest.Server {
	t0 := time.Now()
	const period, from, stall = 5 * time.Second, 2 * time.Second, time.Second
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		phase := time.Since(t0) % period
		if phase >= from && phase < from+stall {
			time.Sleep(from + stall - phase)
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStallShowsInLatencyNoRace proves the core rule: with arrivals due at a
// constant 500/s, a server that stalls 20% of the time has a true latency
// distribution with p90 ≈ 0.5 s and p99 ≈ 0.95 s (the stalled fifth of
// arrivals wait uniformly between 0 and 1 s). That must hold whether or not
// the generator has enough connections; with only 4 in flight, the service
// time stays small because the wait happens before sending, and a tool that
// measured from the actual send (vegeta, k6, a closed model) would report it
// as the latency.
//
// It is a timing test, so it skips under the race detector, which makes
// every loopback request several times slower; `make test` runs it again
// without -race.
func TestStallShowsInLatencyNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("timing test: make test runs it without -race")
	}
	checkStall(t, "http_req_duration", func(t *testing.T) *Plan {
		return constPlan(stallServer(t).URL+"/", 500, 20*time.Second)
	})
}

// checkStall is the stall proof for a plan of one step at 500/s for 20 s
// against a server that freezes 1 s in every 5 s (made by plan, once per
// case): p90 ≈ 0.5 s and p99 ≈ 0.95 s from the intended time, with slots to
// spare and with only 4 in flight (whose service time stays small); metric
// is the step's duration metric, which must read the same.
func checkStall(t *testing.T, metric string, plan func(t *testing.T) *Plan) {
	for _, tc := range []struct {
		name        string
		maxInFlight int
		checkSvc    bool
	}{
		{"slots to spare", 1000, false},
		{"starved at 4 in flight", 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t)
			p.Load.MaxInFlight = tc.maxInFlight
			p.Interval = time.Second
			res, err := (&Engine{}).Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			st := res.Final.Total.Steps[0][0]
			if st.Requests != 10000 || st.Failed != 0 {
				t.Fatalf("requests %d failed %d, want 10000 and 0 (errors %v)", st.Requests, st.Failed, res.Final.ErrorSamples)
			}
			p90, p99 := st.Duration.Quantile(0.90), st.Duration.Quantile(0.99)
			t.Logf("%s p90=%v p99=%v max=%v; service time p99=%v", metric, p90, p99, st.Duration.Max(), st.ServiceTime.Quantile(0.99))
			// The lower bounds are the point: a tool that measures from the
			// actual send reports p90 near zero. The upper bounds allow for the
			// time the generator needs to drain the backlog after a stall.
			if p90 < 450*time.Millisecond || p90 > 600*time.Millisecond {
				t.Errorf("p90 = %v, want ≈ 0.50 s", p90)
			}
			if p99 < 900*time.Millisecond || p99 > 1050*time.Millisecond {
				t.Errorf("p99 = %v, want ≈ 0.95 s", p99)
			}
			if svc := st.ServiceTime.Quantile(0.99); tc.checkSvc && svc > 100*time.Millisecond {
				t.Errorf("service time p99 = %v, want small: only 4 requests per stall were on the wire", svc)
			}
			sel, err := Select(p, metric, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v := sel.Read(res.Final.Total); v.Hist.Quantile(0.99) != p99 {
				t.Errorf("%s p99 %v, the step's %v", metric, v.Hist.Quantile(0.99), p99)
			}
		})
	}
}
