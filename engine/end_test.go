package engine

import (
	"github.com/loadgate/loadgate/engine/internal/httpc"

	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/valyala/fasthttp"
)

// lastCallDoer is a sleepDoer that remembers when its last request was
// sent, as an offset from start.
type lastCallDoer struct {
	sleepDoer
	start time.Time
	mu    sync.Mutex
	last  time.Duration
}

func (d *lastCallDoer) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	d.mu.Lock()
	d.last = max(d.last, time.Since(d.start))
	d.mu.Unlock()
	return d.sleepDoer.Do(req, resp, timeout)
}

// TestProfileEndIsAHardBound: however many arrivals are due and waiting —
// an absurd rate against 10 slots of 100 ms — no request starts after the
// end of the profile (plus its slack and endTolerance), Run returns once
// the requests in flight are done, and every planned arrival is accounted
// for: started, or found no free slot (dropped, and a failed request of
// kind no_free_slot). In virtual time, where every number is exact.
func TestProfileEndIsAHardBound(t *testing.T) {
	for _, tc := range []struct {
		name     string
		overload Overload
		arrivals Arrivals
		// started is how many arrivals had a slot: 10 slots × a round of
		// 100 ms at 0, 0.1, ... 1.0 s when arrivals wait (the last round
		// starts before the cut-off at 1.01 s), up to 0.9 s when they are
		// dropped (at 1.0 s every due arrival has been dropped).
		started int64
		// stopped and elapsed are when the load stopped and Run returned.
		stopped, elapsed time.Duration
	}{
		{"wait", Wait, Uniform, 110, time.Second + endTolerance, 1100 * time.Millisecond},
		{"drop", Drop, Uniform, 100, time.Second, time.Second},
		{"wait, poisson arrivals", Wait, Poisson, 110, time.Second + endTolerance, 1100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &lastCallDoer{sleepDoer: sleepDoer{d: 100 * time.Millisecond}, start: time.Now()}
				p := constPlan("http://127.0.0.1:1/", 100_000, time.Second)
				p.Load.MaxInFlight, p.Load.Overload, p.Load.Arrivals = 10, tc.overload, tc.arrivals
				var waiting int64
				res, err := (&Engine{newDoer: func(string) (httpc.Doer, error) { return d, nil }, goTimersOnly: true}).Run(context.Background(), p,
					ObserverFunc(func(s *Snapshot) { waiting = max(waiting, s.Waiting) }))
				if err != nil {
					t.Fatal(err)
				}
				end := time.Second + endTolerance
				if d.last > end {
					t.Errorf("a request started at %v, after the profile's end and its tolerance (%v)", d.last, end)
				}
				if !near(res.StoppedAt, tc.stopped) || !near(res.Elapsed, tc.elapsed) {
					t.Errorf("stopped at %v, returned at %v; want %v and %v", res.StoppedAt, res.Elapsed, tc.stopped, tc.elapsed)
				}
				tot := res.Final.Total
				st := tot.Steps[0][0]
				if tot.Started != tc.started || tot.Started+tot.Dropped != tot.Planned || st.Requests != tot.Planned ||
					st.Errors[KindNoFreeSlot] != tot.Dropped || st.Failed != tot.Dropped || d.calls.Load() != tc.started {
					t.Errorf("planned %d: started %d, dropped %d, requests %d (%d sent), no_free_slot %d, failed %d; want %d started and the rest dropped",
						tot.Planned, tot.Started, tot.Dropped, st.Requests, d.calls.Load(), st.Errors[KindNoFreeSlot], st.Failed, tc.started)
				}
				if tc.arrivals == Uniform && tot.Planned != 100_000 {
					t.Errorf("planned %d, want 100000", tot.Planned)
				}
				// The generator was never late with a free slot.
				if tot.Lag.Max() != 0 {
					t.Errorf("schedule lag max %v, want 0: waits for a slot are not the generator's", tot.Lag.Max())
				}
				if h := DefaultTolerances().Problems(Open, tot); len(h) > 0 {
					t.Errorf("the generator is blamed: %v", h)
				}
				if tc.overload == Wait && waiting == 0 {
					t.Error("no snapshot counted arrivals waiting for a slot")
				}
			})
		})
	}
}

// TestEndGraceCutsOff: requests in flight at the end of the profile get
// the grace period, then are cut off and counted as cancelled, not as
// requests; Run returns then, in both models. Real connections to a server
// that never answers, since the cut-off closes them.
func TestEndGraceCutsOff(t *testing.T) {
	srv := faultTarget(t)
	for _, model := range []Model{Open, Closed} {
		t.Run(model.String(), func(t *testing.T) {
			p := constPlan(srv.URL+"/hang", 10, 500*time.Millisecond)
			p.Load.Model = model
			p.Flows[0].Steps[0].Timeout = 30 * time.Second
			const grace = time.Second
			p.Grace = grace
			start := time.Now()
			res, err := (&Engine{}).Run(context.Background(), p)
			el := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			// Not before the grace ended; long before the 30 s timeout (the
			// margin is for a slow, busy test machine).
			if min := 500*time.Millisecond + grace; el < min || el > min+3*time.Second {
				t.Fatalf("Run returned after %v, want just after the end at 0.5 s + the %v grace", el, grace)
			}
			tot := res.Final.Total
			st := tot.Steps[0][0]
			if st.Requests != 0 || tot.Cancelled < 3 || tot.Cancelled != tot.Started {
				t.Fatalf("requests %d, cancelled %d of %d started; want every request cut off and counted as cancelled", st.Requests, tot.Cancelled, tot.Started)
			}
			if res.Stopped != nil || res.StoppedAt < 500*time.Millisecond || res.StoppedAt > 700*time.Millisecond {
				t.Fatalf("stopped %v at %v, want nil at the end of the profile", res.Stopped, res.StoppedAt)
			}
		})
	}
}

// TestGraceDefaultsToTimeout: a plan without a grace period gives requests
// in flight their longest timeout, and a margin for a timeout that fires
// late (load.graceful_stop's default).
func TestGraceDefaultsToTimeout(t *testing.T) {
	p := constPlan("http://127.0.0.1:1/", 10, time.Second)
	p.Flows[0].Steps = append(p.Flows[0].Steps, Step{Name: "slow", Method: "GET", URL: "http://127.0.0.1:1/", Timeout: 42 * time.Second}, Step{Name: "default", Method: "GET", URL: "http://127.0.0.1:1/"})
	if got, want := p.StopGrace(), 42*time.Second+420*time.Millisecond+time.Second; got != want {
		t.Fatalf("grace %v, want the longest timeout, 42 s, and a margin: %v", got, want)
	}
	p.Flows[0].Steps = p.Flows[0].Steps[:1]
	p.Flows[0].Steps[0].Timeout = 0
	if got, want := p.StopGrace(), DefaultTimeout+DefaultTimeout/100+time.Second; got != want {
		t.Fatalf("grace %v, want DefaultTimeout and a margin: %v", got, want)
	}
	p.Grace = time.Millisecond
	if got := p.StopGrace(); got != time.Millisecond {
		t.Fatalf("grace %v, want the plan's 1 ms", got)
	}
}

// TestCheckLoad: the impossible is invalid, the merely overloaded is not
// (docs/scenario-reference.md, "Impossible loads").
func TestCheckLoad(t *testing.T) {
	think := func(p *Plan, d time.Duration, captures bool) *Plan {
		st := &p.Flows[0].Steps[0]
		st.Think = d
		if captures {
			st.Captures = []Capture{{Name: "id", From: CaptureHeader, Expr: "X-Id"}}
		}
		p.Flows[0].Steps = append(p.Flows[0].Steps, Step{Name: "next", Method: "GET", URL: st.URL})
		return p
	}
	for _, tc := range []struct {
		name  string
		plan  *Plan
		stage int    // of the problem; -2 for none
		want  string // in its message
	}{
		{"a normal load", constPlan("http://h/", 1000, time.Second), -2, ""},
		{"rate 0", constPlan("http://h/", 0, time.Second), -1, "plans no arrival"},
		{"no user", func() *Plan { p := constPlan("http://h/", 0, time.Second); p.Load.Model = Closed; return p }(), -1, "no user"},
		{"above one host", constPlan("http://h/", 2e7, time.Second), -1, "more than one host can start"},
		{"a stage above one host", func() *Plan { p := constPlan("http://h/", 2e7, time.Second); p.Load.StartRate = 0; return p }(), 0, "rate 20,000,000/s"},
		{"a start rate above one host", func() *Plan { p := constPlan("http://h/", 10, time.Second); p.Load.StartRate = 1e8; return p }(), -1, "rate 100,000,000/s"},
		{"a quarter of it per host", func() *Plan {
			p := constPlan("http://h/", 2e7, time.Second)
			p.Segment = Segment{Index: 1, Count: 4}
			return p
		}(), -2, ""},
		{"10 million a second", constPlan("http://h/", 1e7, time.Second), -2, ""},
		{"above max_in_flight / timeout: overloaded, not impossible", constPlan("http://h/", 1e6, time.Second), -2, ""},
		{"think times beyond max_in_flight", think(constPlan("http://h/", 200, time.Second), time.Second, false), 0, "needs 200 iterations at once"},
		{"think times within max_in_flight", think(constPlan("http://h/", 100, time.Second), time.Second, false), -2, ""},
		{"a step with captures may end the iteration before its think", think(constPlan("http://h/", 200, time.Second), time.Second, true), -2, ""},
		{"a stage shorter than the think time", think(constPlan("http://h/", 200, 500*time.Millisecond), time.Second, false), -2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.plan.CheckLoad()
			switch {
			case tc.stage == -2 && e != nil:
				t.Fatalf("problem %q, want none", e.Msg)
			case tc.stage == -2:
			case e == nil:
				t.Fatalf("no problem, want one with %q", tc.want)
			case e.Stage != tc.stage || !strings.Contains(e.Msg, tc.want):
				t.Fatalf("problem at stage %d: %q; want stage %d with %q", e.Stage, e.Msg, tc.stage, tc.want)
			}
			if err := tc.plan.Validate(); (err != nil) != (tc.stage != -2) {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}
