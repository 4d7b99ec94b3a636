package engine

import (
	"github.com/loadgate/loadgate/engine/internal/httpc"

	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/valyala/fasthttp"
)

// sleepDoer answers every request with 200 after a fixed (virtual) delay.
type sleepDoer struct {
	d     time.Duration
	calls atomic.Int64
}

func (s *sleepDoer) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	s.calls.Add(1)
	time.Sleep(s.d)
	resp.SetStatusCode(200)
	return nil
}

func fakeEngine(d *sleepDoer) *Engine {
	return &Engine{newDoer: func(string) (httpc.Doer, error) { return d, nil }, goTimersOnly: true}
}

// TestPoolVirtualTime runs the open-model pool against a fake client in
// virtual time (testing/synctest), where every number is exact.
func TestPoolVirtualTime(t *testing.T) {
	for _, tc := range []struct {
		name        string
		service     time.Duration
		maxInFlight int
		overload    Overload
		dur         time.Duration // of the profile; 2 s when 0
		check       func(t *testing.T, st StepStats, p *Period)
	}{
		{
			// Enough room: every arrival starts on time, latency = service.
			name: "on time", service: 10 * time.Millisecond, maxInFlight: 100,
			check: func(t *testing.T, st StepStats, p *Period) {
				if st.Requests != 200 || p.Started != 200 || p.Dropped != 0 {
					t.Fatalf("requests %d started %d dropped %d", st.Requests, p.Started, p.Dropped)
				}
				if !near(st.Duration.Max(), 10*time.Millisecond) || p.Lag.Max() != 0 {
					t.Fatalf("duration max %v lag max %v, want 10ms and 0", st.Duration.Max(), p.Lag.Max())
				}
			},
		},
		{
			// 100/s due, 2 in flight of 100 ms each serve 20/s: arrivals
			// wait for a slot, arrival 2k starts at 100k ms and 2k+1 at
			// 100k+10 ms instead of 10n ms, and the wait is in
			// http_req_duration but not in service time. It is the
			// target's doing (slot_wait), not the generator's
			// (schedule_lag stays 0). The profile's end (1.995 s, cut at
			// 2.045 s) is a hard bound: arrival 41, due at 0.41 s, is the
			// last to start (at 2.01 s); the 158 still waiting then found
			// no free slot and count as failed requests.
			name: "wait", service: 100 * time.Millisecond, maxInFlight: 2, dur: 1995 * time.Millisecond,
			check: func(t *testing.T, st StepStats, p *Period) {
				if p.Started != 42 || p.Dropped != 158 || st.Requests != 200 || st.Failed != 158 || st.Errors[KindNoFreeSlot] != 158 {
					t.Fatalf("started %d dropped %d requests %d failed %d no_free_slot %d, want 42 158 200 158 158",
						p.Started, p.Dropped, st.Requests, st.Failed, st.Errors[KindNoFreeSlot])
				}
				if st.Status[0] != 158 || st.Duration.Count() != 42 {
					t.Fatalf("%d without a response, %d durations; want 158 and 42", st.Status[0], st.Duration.Count())
				}
				if !near(st.ServiceTime.Max(), 100*time.Millisecond) {
					t.Fatalf("service max %v", st.ServiceTime.Max())
				}
				// Arrivals 40 and 41 are due at 0.4 and 0.41 s, start at 2.0
				// and 2.01 s and end 100 ms later.
				if got, want := st.Duration.Max(), 1700*time.Millisecond; !near(got, want) {
					t.Fatalf("duration max %v, want ≈ %v", got, want)
				}
				if got, want := p.SlotWait.Max(), 1600*time.Millisecond; !near(got, want) {
					t.Fatalf("slot wait max %v, want ≈ %v", got, want)
				}
				if p.SlotWait.Count() != 42 || p.SlotWait.Min() != 0 || p.Lag.Max() != 0 {
					t.Fatalf("%d slot waits (want 42), min %v (want 0: the first two had a slot), lag max %v (want 0)", p.SlotWait.Count(), p.SlotWait.Min(), p.Lag.Max())
				}
			},
		},
		{
			// Same overload, k6's way: 2 of every 10 arrivals find a free
			// slot, 8 are dropped and count as failed requests.
			name: "drop", service: 100 * time.Millisecond, maxInFlight: 2, overload: Drop,
			check: func(t *testing.T, st StepStats, p *Period) {
				if st.Requests != 200 || p.Started != 40 || p.Dropped != 160 || st.Errors[KindNoFreeSlot] != 160 || st.Failed != 160 {
					t.Fatalf("requests %d started %d dropped %d no_free_slot %d failed %d, want 200/40/160/160/160",
						st.Requests, p.Started, p.Dropped, st.Errors[KindNoFreeSlot], st.Failed)
				}
				if !near(st.Duration.Max(), 100*time.Millisecond) || p.Lag.Max() != 0 || p.SlotWait.Max() != 0 {
					t.Fatalf("duration max %v, lag max %v, slot waits %v", st.Duration.Max(), p.Lag.Max(), p.SlotWait)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &sleepDoer{d: tc.service}
				dur := 2 * time.Second
				if tc.dur > 0 {
					dur = tc.dur
				}
				p := constPlan("http://127.0.0.1:1/", 100, dur)
				p.Load.MaxInFlight = tc.maxInFlight
				p.Load.Overload = tc.overload
				res, err := fakeEngine(d).Run(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				tot := res.Final.Total
				if tot.Planned != 200 {
					t.Fatalf("planned %d", tot.Planned)
				}
				tc.check(t, tot.Steps[0][0], tot)
			})
		})
	}
}

// TestCancelStopsAndGraces: cancelling stops new arrivals at once; requests
// in flight finish within the grace period and are recorded.
func TestCancelStopsAndGraces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &sleepDoer{d: 300 * time.Millisecond}
		p := constPlan("http://127.0.0.1:1/", 100, 10*time.Second)
		ctx, cancel := context.WithCancelCause(context.Background())
		errStop := context.Canceled
		time.AfterFunc(995*time.Millisecond, func() { cancel(errStop) })
		start := time.Now()
		res, err := fakeEngine(d).Run(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Stopped != errStop {
			t.Fatalf("stopped = %v", res.Stopped)
		}
		if el := time.Since(start); el != 1290*time.Millisecond {
			t.Fatalf("returned after %v, want 1.29 s (the last arrival at 0.99 s + its request)", el)
		}
		if got := res.Final.Total.Steps[0][0].Requests; got != 100 {
			t.Fatalf("requests %d, want the 100 started in the first second", got)
		}
		// The plan ends with the stop: the 0.3 s spent draining the last
		// requests is not 30 arrivals the generator failed to start.
		if got := res.Final.Total.Planned; got != 100 {
			t.Fatalf("planned %d, want 100", got)
		}
	})
}

// TestHardStopAfterGrace: requests still in flight when the grace period
// after a stop ends are cut off (their connections closed), Run returns
// then and not when they would have ended, and nothing cut off is
// recorded against the target. Real connections to a server that never
// answers, since the cut-off closes them.
func TestHardStopAfterGrace(t *testing.T) {
	srv := faultTarget(t)
	p := constPlan(srv.URL+"/hang", 10, 10*time.Second)
	p.Flows[0].Steps[0].Timeout = 30 * time.Second
	const stopAt, grace = 500 * time.Millisecond, time.Second
	p.Grace = grace
	ctx, cancel := context.WithCancelCause(context.Background())
	errStop := errors.New("stop")
	time.AfterFunc(stopAt, func() { cancel(errStop) })
	start := time.Now()
	res, err := (&Engine{}).Run(ctx, p)
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != errStop {
		t.Fatalf("stopped = %v", res.Stopped)
	}
	// Not before the grace period ended; long before the requests' 30 s
	// timeout (the margin is for a slow, busy test machine).
	if el < stopAt+grace || el > stopAt+grace+3*time.Second {
		t.Fatalf("Run returned after %v, want just after the stop at %v + the %v grace", el, stopAt, grace)
	}
	st := res.Final.Total.Steps[0][0]
	if st.Requests != 0 || st.Failed != 0 {
		t.Fatalf("requests %d, failed %d recorded after the hard stop; want none", st.Requests, st.Failed)
	}
	if started := res.Final.Total.Started; started < 3 {
		t.Fatalf("%d arrivals started before the stop, want about 5", started)
	}
}

// TestClosedModel: 5 users with 100 ms requests and 100 ms think run
// 5 × 10 iterations (started at 0, 0.2, ... 1.8 s) in 1.95 s.
func TestClosedModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &sleepDoer{d: 100 * time.Millisecond}
		p := constPlan("http://127.0.0.1:1/", 5, 1950*time.Millisecond)
		p.Load.Model = Closed
		p.Load.Think = 100 * time.Millisecond
		res, err := fakeEngine(d).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Final.Total.Steps[0][0].Requests; got != 50 {
			t.Fatalf("requests %d, want 50", got)
		}
	})
}

// near reports whether a histogram value is within its 3-digit precision of want.
func near(got, want time.Duration) bool {
	d := got - want
	return d >= -want/500 && d <= want/500
}

// TestPoissonPlannedIsTheRealisedSchedule: with Poisson arrivals the
// planned count is the number the seeded schedule actually produced, so a
// generator that starts every arrival is never reported behind by the
// spread of the draw (10/s for 10 s, seed 0, draws 93 arrivals, not 100).
func TestPoissonPlannedIsTheRealisedSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for seed := uint64(0); seed < 5; seed++ {
			p := constPlan("http://127.0.0.1:1/", 10, 10*time.Second)
			p.Load.Arrivals, p.Load.Seed = Poisson, seed
			res, err := fakeEngine(&sleepDoer{d: time.Millisecond}).Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			tot := res.Final.Total
			if tot.Planned != tot.Started {
				t.Fatalf("seed %d: planned %d, started %d", seed, tot.Planned, tot.Started)
			}
		}
	})
}

// TestClosedMaxRateStopsPromptly: max_rate paces 100 users to 10
// iterations per second, and a stop wakes the users queued for a slot at
// once (with an uncancellable limiter the last would wait 10 s).
func TestClosedMaxRateStopsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := constPlan("http://127.0.0.1:1/", 100, 2*time.Second)
		p.Load.Model, p.Load.MaxRate = Closed, 10
		start := time.Now()
		res, err := fakeEngine(&sleepDoer{d: time.Millisecond}).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > 2100*time.Millisecond {
			t.Fatalf("the run took %v after a 2 s profile", el)
		}
		if got := res.Final.Total.Steps[0][0].Requests; got < 19 || got > 21 {
			t.Fatalf("%d requests in 2 s at max_rate 10", got)
		}
	})
}

// TestAbsurdPeakStartsAtOnce: a plan whose peak rate is absurd (10^12 a
// second, a 10^5th of it for this segment, as an agent of a large
// distributed run gets: 10,000 arrivals in 1 ms) starts at once. The
// first workers were once started in a loop of peak/100 calls, most of
// them no-ops on a full pool: 98 s before the run could even be stopped.
func TestAbsurdPeakStartsAtOnce(t *testing.T) {
	start := time.Now()
	synctest.Test(t, func(t *testing.T) {
		d := &sleepDoer{d: 10 * time.Millisecond}
		p := constPlan("http://127.0.0.1:1/", 1e12, time.Millisecond)
		p.Segment = Segment{Index: 3, Count: 100_000}
		p.Load.MaxInFlight = 10
		res, err := fakeEngine(d).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Final.Total.Started; got < 10 {
			t.Fatalf("started %d, want at least a round of 10 slots", got)
		}
	})
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("a 100 ms run took %v", el)
	}
}
