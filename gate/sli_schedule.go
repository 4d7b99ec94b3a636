package gate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/report/promexport"
	"github.com/loadgate/loadgate/sli"
	"github.com/loadgate/loadgate/slo"
)

// schedule is what a run does on a clock of its own beside the load: the
// live queries of the Prometheus SLIs the thresholds judge (every
// sli.live_every, then once over the whole run; docs/thresholds.md) and
// the /metrics server (docs/metrics.md), both fed by the run's latest
// snapshot. The zero value (no metrics address, no sli section) does
// nothing.
type schedule struct {
	s      *session
	srv    *promexport.Server
	sli    *sli.Querier
	names  []string // SLIs the thresholds judge
	wait   time.Duration
	every  time.Duration
	stop   chan struct{} // closed by stopLive to end the live SLI loop
	once   sync.Once
	loopWG sync.WaitGroup
}

// stopLive ends the live SLI loop and waits for it.
func (x *schedule) stopLive() {
	x.once.Do(func() { close(x.stop) })
	x.loopWG.Wait()
}

// sliQuerier returns the querier of the SLIs the thresholds judge, and
// their names; nil without any. It runs after the evaluator is built.
func (s *session) sliQuerier() (*sli.Querier, []string, error) {
	spec := s.sc.SLI()
	if spec == nil || len(s.eval.SLINames()) == 0 {
		return nil, nil, nil
	}
	qs := make([]sli.Query, len(spec.Queries))
	for i, q := range spec.Queries {
		qs[i] = sli.Query{Name: q.Name, PromQL: q.Query, Empty: q.Empty}
	}
	q, err := sli.New(spec.PrometheusURL, spec.Timeout, qs)
	if err != nil {
		return nil, nil, err
	}
	return q, s.eval.SLINames(), nil
}

// startSchedule starts serving /metrics and the live queries of the SLIs
// (q, which may be nil, and names from sliQuerier).
func (s *session) startSchedule(q *sli.Querier, names []string) (*schedule, error) {
	x := &schedule{s: s, stop: make(chan struct{})}
	if q != nil {
		x.sli, x.names, x.wait, x.every = q, names, s.sc.SLI().Wait, s.sc.SLI().LiveEvery
	}
	if s.MetricsAddr != "" {
		ln, err := net.Listen("tcp", s.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		col := promexport.NewCollector(&s.sc.Plan, promexport.Options{
			Scenario: s.sc.Name, Version: s.Version, Latest: s.latest.Load, Thresholds: s.eval.Results, Step: s.currentStep,
		})
		x.srv = promexport.Serve(ln, col)
		if !s.Quiet {
			// Not as a URL: the CLI's stderr cuts URLs to their origin.
			fmt.Fprintf(s.Stderr, "loadgate: serving Prometheus metrics on %s, path /metrics\n", x.srv.Addr())
		}
	}
	if x.sli != nil && x.every > 0 {
		x.loopWG.Add(1)
		go x.live()
	}
	return x, nil
}

// live queries the SLIs over the window so far, every x.every, until stop.
func (x *schedule) live() {
	defer x.loopWG.Done()
	t := time.NewTicker(x.every)
	defer t.Stop()
	for {
		select {
		case <-x.stop:
			return
		case <-t.C:
		}
		snap := x.s.latest.Load()
		if snap == nil || snap.Total == nil {
			continue
		}
		w := sli.Window{Start: snap.Time.Add(-snap.Total.End), End: snap.Time}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-x.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		for _, r := range x.sli.ReadAll(ctx, x.names, w, snap.Total.End) {
			x.s.eval.ObserveSLI(r, false)
		}
		cancel()
	}
}

// afterRun stops the live queries and gives every SLI threshold its final
// reading: after waiting one scrape interval, the queries over the whole
// run. An interrupted run is not queried (nobody waits for it); its SLIs
// fail with that reason and the exit code is the interrupt's.
func (x *schedule) afterRun(ctx context.Context, res *engine.Result) {
	x.stopLive()
	if x.sli == nil || res == nil {
		return
	}
	at := res.Elapsed
	if res.Final != nil && res.Final.Total != nil {
		at = res.Final.Total.End
	}
	interrupted := func() bool {
		if !errors.Is(res.Stopped, errInterrupted) && !errors.Is(context.Cause(ctx), errInterrupted) {
			return false
		}
		for _, n := range x.names {
			x.s.eval.ObserveSLI(slo.SLIReading{Name: n, At: at, Err: fmt.Errorf("sli %s: not queried: the run was interrupted", n)}, true)
		}
		return true
	}
	if interrupted() {
		return
	}
	w := sli.Window{Start: res.Start, End: res.Start.Add(res.Elapsed)}
	if !x.s.Quiet && x.wait > 0 {
		fmt.Fprintf(x.s.Stderr, "loadgate: waiting %v for Prometheus to scrape the last values, then querying %d SLI(s)\n", x.wait, len(x.names))
	}
	select { // a signal during the wait ends it (an abort does not)
	case <-time.After(x.wait):
	case <-x.s.interrupted:
	}
	if interrupted() {
		return
	}
	for _, r := range x.sli.ReadAll(context.Background(), x.names, w, at) { // each query has its timeout
		x.s.eval.ObserveSLI(r, true)
	}
}

// close keeps /metrics up until the last snapshot has been scraped (or
// the linger has passed), then stops it.
func (x *schedule) close() {
	x.stopLive()
	if x.srv == nil {
		return
	}
	latest := 0
	if sn := x.s.latest.Load(); sn != nil {
		latest = sn.Seq
	}
	if err := x.srv.Close(latest, x.s.MetricsLinger); err != nil {
		fmt.Fprintf(x.s.Stderr, "loadgate: metrics server: %v\n", err)
	}
}
