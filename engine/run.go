package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadgate/loadgate/engine/internal/httpc"
	"github.com/valyala/fasthttp"
)

// Engine runs plans on this host. The zero value sends real HTTP requests
// (the clients of engine/internal/httpc); the fields set how it connects.
type Engine struct {
	// Dial replaces the TCP dialer of the HTTP clients.
	Dial DialFunc
	// TLS is the client TLS configuration; nil verifies with system roots.
	TLS *tls.Config
	// UserAgent is sent with every request that does not set one.
	UserAgent string

	// For tests: newDoer replaces the HTTP client of a target
	// (scheme://host); goTimersOnly makes the run's clock wait on a Go
	// timer, never on a kernel timer, for tests under testing/synctest,
	// whose virtual clock kernel timers do not follow (it costs precision,
	// see goAlarm); started is called once the run's load has started.
	newDoer      func(target string) (httpc.Doer, error)
	goTimersOnly bool
	started      func(*run)
}

// Result is the outcome of Run.
type Result struct {
	Start   time.Time // wall clock at the start
	Elapsed time.Duration
	Final   *Snapshot // the last snapshot; Final.Total covers the whole run
	// Stopped is why the run ended before its profile did: the cause of the
	// context's cancellation. Nil when the profile completed.
	Stopped error
	// Exhausted is set when the plan ran out of data before its profile
	// ended (a unique feeder had no row left; the message names it): the
	// run stopped scheduling but is complete, not partial.
	Exhausted error
	// StoppedAt is the offset at which the load stopped starting requests:
	// the profile's end (plus Load.Slack and a 50 ms tolerance in the
	// open model), or an earlier stop. Elapsed - StoppedAt is how long
	// requests in flight took to drain (at most the plan's Grace).
	StoppedAt time.Duration
}

// endTolerance is how late, after the end of the open model's profile and
// the clock's slack (Load.Slack), an arrival due before the end may still
// start: as late as the generator's default lag tolerance
// (DefaultTolerances' MaxLagP99), by which an arrival that late is still
// started in time, so that a busy machine does not lose the last arrivals
// of a healthy run. Later, it never starts and counts as planned but not
// started. The profile's end is a hard bound on the load
// (docs/scenario-reference.md, "The end of a run").
const endTolerance = 50 * time.Millisecond

// run is the state of one Run call.
type run struct {
	plan      *Plan
	start     time.Time
	rec       *recorder
	steps     [][]stepExec
	flowTable []int32
	curve     *curve
	src       arrivals
	clock     *clock
	// clockKind and clockFallback describe the clock for the snapshots.
	clockKind, clockFallback string
	conns                    *httpc.Conns
	// stop is closed when no new iteration or step may start.
	stop      chan struct{}
	stopOnce  sync.Once
	stoppedAt atomic.Int64 // offset at which halt was called; 0 before
	hard      atomic.Bool  // set when in-flight requests were cut off
	// endCut is the offset after which no arrival starts: the profile's
	// end, plus Load.Slack and endTolerance in the open model.
	endCut time.Duration
	// slotBound is set while the open model's arrivals wait for a free
	// slot: the last arrival claimed was due before any worker was free
	// (open.go). It decides whether arrivals not started at the end found
	// no free slot or were the generator's shortfall.
	slotBound atomic.Bool
	// fullAtStop records that every slot was busy when the load stopped.
	fullAtStop atomic.Bool
	inFlight   atomic.Int64
	workers    atomic.Int64 // open model: worker goroutines started
	waiting    atomic.Int64 // open model: workers claiming or waiting for an arrival
	n          atomic.Int64 // closed model: iteration counter for flow picks
	wg         sync.WaitGroup
	// cancel stops the run with a cause (a recovered panic).
	cancel context.CancelCauseFunc
	// cut is cancelled at the hard stop, when requests in flight are cut
	// off: the non-HTTP protocols' calls and sessions run under it (HTTP's
	// connections are closed through conns).
	cut      context.Context
	cutOff   context.CancelFunc
	journeys // journey.go: compiled flows, feeders, redirect clients
}

func (r *run) since() time.Duration { return time.Since(r.start) }

// completion is the offset at which the response to a request sent at
// offset sent was complete: when its last byte reached the kernel (stamp,
// wall-clock ns, from the connection's receive timestamp), or now when
// there is no stamp. A stamp outside [sent, now] — the wall clock was
// stepped in between — is ignored.
func (r *run) completion(sent time.Duration, stamp int64) time.Duration {
	now := time.Now()
	end := now.Sub(r.start)
	if stamp != 0 {
		if age := time.Duration(now.UnixNano() - stamp); age >= 0 && age <= end-sent {
			end -= age
		}
	}
	return end
}

func (r *run) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

func (r *run) hardStopped() bool { return r.hard.Load() }

// halt stops the load: no new iteration or step starts. The arrivals
// planned end at this moment too (stoppedAt), so that requests draining
// after a stop do not count as arrivals the generator failed to start.
func (r *run) halt() {
	r.stopOnce.Do(func() {
		r.stoppedAt.Store(int64(max(r.since(), 1)))
		if r.plan.Load.Model == Open && r.inFlight.Load() >= int64(r.plan.Load.MaxInFlight) {
			r.fullAtStop.Store(true)
		}
		close(r.stop)
		r.clock.stop()
	})
}

// plannedUntil is the end of the planned span at offset now.
func (r *run) plannedUntil(now time.Duration) time.Duration {
	if s := time.Duration(r.stoppedAt.Load()); s > 0 && s < now {
		return s
	}
	return now
}

// Run executes p until its profile ends or ctx is cancelled, publishing a
// snapshot to every observer once per interval and a final one at the end.
// It returns only after every goroutine it started has exited. At the end
// of the profile (plus Load.Slack and a tolerance of 50 ms in the open
// model, endTolerance), or on cancellation, it stops starting work,
// however many arrivals are still due, lets requests in flight finish for
// up to the grace period (StopGrace), then closes their connections. So a
// run lasts at most its profile, Slack, the tolerance and the grace period.
func (e *Engine) Run(ctx context.Context, p *Plan, obs ...Observer) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	plan := p.withDefaults()
	r := &run{
		plan:   &plan,
		curve:  newCurve(&plan.Load),
		conns:  httpc.NewConns(),
		stop:   make(chan struct{}),
		endCut: plan.Load.Duration(),
	}
	if plan.Load.Model == Open {
		r.endCut += plan.Load.Slack + endTolerance
	}
	r.cut, r.cutOff = context.WithCancel(context.Background())
	defer r.cutOff()
	defer r.closeProtos()
	if err := r.prepare(e); err != nil {
		return nil, err
	}
	r.rec = newRecorder(r.plan, min(runtime.GOMAXPROCS(0), 8))
	if plan.Load.Arrivals == Poisson {
		r.src = newPoisson(r.curve, plan.Segment, plan.Load.Seed)
	} else {
		r.src = &uniformArrivals{c: r.curve, seg: plan.Segment, max: r.curve.countAll()}
	}
	predialed := r.predial()
	defer predialed()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	r.start = time.Now()
	var a alarm
	r.clockKind = ClockGo
	if !e.goTimersOnly {
		var err error
		if a, err = newKernelAlarm(r.since); err != nil {
			r.clockFallback = err.Error()
		} else {
			r.clockKind = ClockKernel
		}
	}
	r.clock = newClock(r.since, plan.Load.Slack, a)
	clockDone := make(chan struct{})
	go func() { r.clock.run(); close(clockDone) }()
	workDone := make(chan struct{})
	collectorDone := make(chan *Snapshot, 1)
	go func() { collectorDone <- r.collect(obs, workDone) }()
	r.startLoad()
	if e.started != nil {
		e.started(r)
	}
	stopped := r.supervise(ctx)
	r.clock.stop()
	<-clockDone
	close(workDone)
	final := <-collectorDone
	r.conns.CloseAll()
	res := &Result{Start: r.start, Elapsed: final.Total.End, Final: final, Stopped: stopped, StoppedAt: final.StoppedAt}
	if e := r.exhausted.Load(); e != nil {
		res.Exhausted = e
	}
	return res, nil
}

// supervise waits for the load to finish by itself, for the end of the
// profile (endCut) or for ctx. At the end or on ctx it stops the load
// however many arrivals are still due, gives in-flight requests the grace
// period, then cuts them off. It returns the cancellation cause, or nil.
func (r *run) supervise(ctx context.Context) error {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	end := time.NewTimer(r.endCut - r.since())
	defer end.Stop()
	var cause error
	select {
	case <-done:
		return nil
	case <-end.C:
	case <-ctx.Done():
		cause = context.Cause(ctx)
	}
	r.halt()
	grace := time.NewTimer(r.plan.Grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		r.hard.Store(true)
		r.conns.CloseAll()
		r.cutOff()
		<-done
	}
	if cause == nil && ctx.Err() != nil {
		cause = context.Cause(ctx) // cancelled while requests drained
	}
	return cause
}

// prepare builds one client per target and one request template per step.
func (r *run) prepare(e *Engine) error {
	doers := map[string]httpc.Doer{}
	cfg := httpc.Config{MaxConns: peakInFlight(r.plan), Dial: e.Dial, TLS: e.TLS, UserAgent: e.UserAgent, Conns: r.conns}
	// mk is the one place a target gets its client, for the plan's steps
	// and for hosts a redirect leads to, so both speak the plan's HTTP
	// version.
	mk := func(target string) (httpc.Doer, error) {
		switch {
		case e.newDoer != nil:
			return e.newDoer(target)
		case r.plan.HTTPVersion != HTTP1:
			return httpc.NewH2(target, r.plan.HTTPVersion == H2C, cfg)
		}
		return httpc.NewHostClient(target, cfg)
	}
	r.steps = make([][]stepExec, len(r.plan.Flows))
	for fi := range r.plan.Flows {
		f := &r.plan.Flows[fi]
		r.steps[fi] = make([]stepExec, len(f.Steps))
		for si := range f.Steps {
			st := &f.Steps[si]
			if st.Protocol != ProtoHTTP {
				if st.Timeout <= 0 {
					st.Timeout = DefaultTimeout
				}
				r.steps[fi][si] = stepExec{step: st}
				continue
			}
			u, err := url.Parse(st.URL)
			if err != nil || u.Host == "" {
				return fmt.Errorf("engine: flow %q step %q: bad url %q", f.Name, st.Name, st.URL)
			}
			target := targetKey(u)
			d, ok := doers[target]
			if !ok {
				if d, err = mk(target); err != nil {
					return err
				}
				doers[target] = d
			}
			r.steps[fi][si] = newStepExec(st, d, e.UserAgent)
		}
	}
	r.flowTable = weightTable(r.plan.Flows)
	if err := r.prepareJourneys(doers, mk); err != nil {
		return err
	}
	return r.startProtos(e)
}

// targetKey names a target as scheme://host:port, host in lower case and
// the default port added, so that one host has one client however its URLs
// spell it.
func targetKey(u *url.URL) string {
	return u.Scheme + "://" + fasthttp.AddMissingPort(strings.ToLower(u.Host), u.Scheme == "https")
}

func newStepExec(st *Step, d httpc.Doer, userAgent string) stepExec {
	req := &fasthttp.Request{}
	req.SetRequestURI(st.URL)
	req.URI().DisablePathNormalizing = true
	req.Header.SetMethod(st.Method)
	if userAgent == "" {
		userAgent = "loadgate"
	}
	req.Header.SetUserAgent(userAgent) // a step's own User-Agent header wins
	for _, h := range st.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	if len(st.Body) > 0 {
		req.SetBody(st.Body)
	}
	if st.Timeout <= 0 {
		st.Timeout = DefaultTimeout
	}
	return stepExec{step: st, doer: d, tmpl: req}
}

// weightTable spreads flow indexes over a table whose length is the sum of
// the weights (divided by their gcd), interleaved by smooth weighted round
// robin, so that any run of arrivals mixes flows in proportion.
func weightTable(flows []Flow) []int32 {
	g := 0
	for _, f := range flows {
		g = gcd(g, f.Weight)
	}
	total := 0
	for _, f := range flows {
		total += f.Weight / g
	}
	table := make([]int32, total)
	cur := make([]int, len(flows))
	for i := range table {
		best := 0
		for fi, f := range flows {
			cur[fi] += f.Weight / g
			if cur[fi] > cur[best] {
				best = fi
			}
		}
		cur[best] -= total
		table[i] = int32(best)
	}
	return table
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (r *run) flowOf(n int64) int {
	return int(r.flowTable[n%int64(len(r.flowTable))])
}

// startLoad starts the first goroutines of the load.
func (r *run) startLoad() {
	if r.plan.Load.Model == Closed {
		r.wg.Add(1)
		go r.controlUsers()
		return
	}
	// Start with enough workers for 10 ms of arrivals at the segment's
	// share of the profile's peak rate, so that the first second does not
	// lag while the pool grows; never more than the pool holds (at an
	// absurd rate a loop of rate/100 calls would keep the run from being
	// stopped for minutes: docs/performance.md).
	peak := r.plan.Load.peakRate()
	if !r.plan.Segment.Whole() {
		peak /= float64(r.plan.Segment.Count)
	}
	n := int(min(1+peak/100, float64(r.plan.Load.MaxInFlight)))
	for range n {
		r.spawn()
	}
}

// predialBudget bounds how long a run waits for predial before it starts.
const predialBudget = time.Second

// predial opens, before the run starts, the connections the open model's
// first 10 ms need at its start rate (1 + rate/100, as startLoad counts
// workers for the peak rate), so that the first arrivals are not late behind a burst of
// dials. That lateness fed itself: late arrivals grew the worker pool and
// its connections, which stayed (docs/performance.md). wrk and wrk2
// connect first too. The dials
// run at once; the run starts when they are done, or after predialBudget,
// with every connection dialed so far idle in its pool. A dial that fails
// is left to the requests to report. It returns a function that waits for
// dials still under way.
func (r *run) predial() (wait func()) {
	var wg sync.WaitGroup
	if r.plan.Load.Model == Closed {
		return wg.Wait
	}
	n := min(1+int(r.plan.Load.StartRate/100), r.plan.Load.MaxInFlight)
	var dialed sync.WaitGroup
	var release []func() // guarded by mu
	var mu sync.Mutex
	started := false
	// keep holds a dialed connection until the run starts, so that the
	// other dials cannot take it: then it goes back to its pool idle.
	keep := func(give func()) {
		mu.Lock()
		defer mu.Unlock()
		if started {
			give()
			return
		}
		release = append(release, give)
	}
	seen := map[*httpc.HostClient]bool{}
	for fi := range r.steps {
		hc, ok := r.steps[fi][0].doer.(*httpc.HostClient)
		if !ok || seen[hc] {
			continue
		}
		seen[hc] = true
		dialConns(n, &wg, &dialed, keep, hc.Open)
	}
	done := make(chan struct{})
	go func() { dialed.Wait(); close(done) }()
	t := time.NewTimer(predialBudget)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	mu.Lock()
	started = true
	for _, give := range release {
		give()
	}
	mu.Unlock()
	return func() { wg.Wait(); <-done }
}

// dialConns dials n connections of one pool at once (open) and hands
// each one's release to keep.
func dialConns(n int, wg, dialed *sync.WaitGroup, keep func(give func()), open func(time.Duration) (func(), error)) {
	for range n {
		wg.Add(1)
		dialed.Add(1)
		go func() {
			defer wg.Done()
			release, err := open(predialBudget)
			dialed.Done()
			if err == nil {
				keep(release)
			}
		}()
	}
}
