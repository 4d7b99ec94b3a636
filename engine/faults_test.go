package engine

import (
	"context"
	"crypto/tls"
	"runtime"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/faults"
)

// The fault matrix (docs/reliability.md, rows 2, 4–10) through the whole engine
// against internal/faults on loopback. Each case shows the error class, that
// no request waited past its deadline (the run ends on time), that memory
// did not follow the fault (bytes allocated during the run), and that the
// final snapshot counts every arrival.

// faultTarget starts a fault server that the test closes.
func faultTarget(t *testing.T) *faults.Server {
	t.Helper()
	srv, err := faults.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// faultRun is one run's outcome with what it cost.
type faultRun struct {
	res     *Result
	st      StepStats
	elapsed time.Duration
	alloc   uint64 // bytes allocated by the whole process during the run
}

// runFault runs rate/s for d against url with the given request deadline,
// with the slack scenarios have by default.
func runFault(t *testing.T, e *Engine, url string, rate float64, d, timeout time.Duration, obs ...Observer) faultRun {
	t.Helper()
	p := constPlan(url, rate, d)
	p.Flows[0].Steps[0].Timeout = timeout
	p.Load.Slack = DefaultSlack // as scenarios run: reads deferred on hushed sockets
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	res, err := e.Run(context.Background(), p, obs...)
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatal(err)
	}
	return faultRun{res: res, st: res.Final.Total.Steps[0][0], elapsed: el, alloc: m1.TotalAlloc - m0.TotalAlloc}
}

// expectAll checks that every planned arrival was sent and failed with
// want, and that the failures are counted once each.
func (r faultRun) expectAll(t *testing.T, want Kind) {
	t.Helper()
	planned := r.res.Final.Total.Planned
	if r.st.Requests != planned || r.st.Errors[want] != planned || r.st.Failed != planned {
		t.Fatalf("planned %d: requests %d, %s %d, failed %d; errors %v; samples %q",
			planned, r.st.Requests, want, r.st.Errors[want], r.st.Failed, r.st.Errors, r.res.Final.ErrorSamples)
	}
	if r.st.Duration.Count() != planned {
		t.Fatalf("latency of %d failed requests recorded, want %d", r.st.Duration.Count(), planned)
	}
	status := want == KindStatus4xx || want == KindStatus5xx || want == KindStatus
	if !status && r.res.Final.ErrorSamples[want] == "" {
		t.Fatalf("no message sample for %s", want)
	}
}

// TestFaultMatrix: one row per fault of internal/faults, with the class it
// must produce. Every case runs 10 arrivals over 0.5 s with a 300 ms
// deadline, so a run must end within 0.5 + 0.3 s plus slack.
//
// Memory: each case allocates at most faultAllocSlack more than the same
// run against a healthy endpoint (the process's allocations, the in-process
// fault server's included): a fault must not make the client buffer what
// it receives or keep what failed.
func TestFaultMatrix(t *testing.T) {
	srv := faultTarget(t)
	healthy := runFault(t, &Engine{}, srv.URL+"/ok", 20, 500*time.Millisecond, 300*time.Millisecond)
	if healthy.st.Requests != 10 || healthy.st.Failed != 0 {
		t.Fatalf("healthy run: %d requests, %d failed", healthy.st.Requests, healthy.st.Failed)
	}
	for _, tc := range []struct {
		name string // docs/reliability.md row and fault
		path string
		want Kind
	}{
		{"row 5 reset mid-body", "/reset", KindReset},
		{"row 5 truncated body", "/short", KindTruncated},
		{"row 6 server never answers", "/hang", KindTimeout},
		{"row 7 slow-loris drip", "/drip/100/50ms", KindTimeout},
		{"row 8 huge headers", "/huge-headers/65536", KindHeaderTooLarge},
		{"row 9 5xx status", "/status/503", KindStatus5xx},
		{"4xx status", "/status/429", KindStatus4xx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runFault(t, &Engine{}, srv.URL+tc.path, 20, 500*time.Millisecond, 300*time.Millisecond)
			r.expectAll(t, tc.want)
			t.Logf("allocated %d KiB (healthy run: %d KiB)", r.alloc>>10, healthy.alloc>>10)
			if r.alloc > healthy.alloc+faultAllocSlack {
				t.Fatalf("allocated %d KiB, the healthy run %d KiB: memory follows the fault", r.alloc>>10, healthy.alloc>>10)
			}
			if limit := 500*time.Millisecond + 300*time.Millisecond + 700*time.Millisecond; r.elapsed > limit {
				t.Fatalf("run took %v, want < %v: a request waited past its deadline", r.elapsed, limit)
			}
			if tc.want == KindTimeout && r.st.Duration.Min() < 290*time.Millisecond {
				t.Fatalf("timed-out latency %v, want ≥ the 300 ms deadline", r.st.Duration.Min())
			}
		})
	}
}

// faultAllocSlack is what a fault case may allocate beyond a healthy run:
// 4 MiB, against ~2 MiB measured for the largest (64 KiB response heads,
// read and written in process).
const faultAllocSlack = 4 << 20

// TestHugeBodiesDiscarded (row 8): 4 responses of 128 MiB each, with a
// length and chunked, and a gzip bomb: each succeeds, its wire bytes are
// counted in data_received, and the process allocates a small fraction of
// one body during the run (bodies never reach a buffer and are never
// inflated).
func TestHugeBodiesDiscarded(t *testing.T) {
	srv := faultTarget(t)
	const size = 128 << 20
	for _, tc := range []struct {
		name    string
		path    string
		minRecv int64
	}{
		{"content-length", "/huge/134217728", 4 * size},
		{"chunked", "/huge-chunked/134217728", 4 * size},
		{"gzip bomb", "/gzip-bomb", 4 * 10 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runFault(t, &Engine{}, srv.URL+tc.path, 8, 500*time.Millisecond, 20*time.Second)
			if r.st.Requests != 4 || r.st.Failed != 0 {
				t.Fatalf("requests %d failed %d; errors %v; %q", r.st.Requests, r.st.Failed, r.st.Errors, r.res.Final.ErrorSamples)
			}
			recv := r.res.Final.Total.BytesReceived
			if recv < tc.minRecv {
				t.Fatalf("data_received %d, want ≥ %d", recv, tc.minRecv)
			}
			if tc.path == "/gzip-bomb" && recv > faults.GzipBombSize/10 {
				t.Fatalf("data_received %d: the bomb was inflated", recv)
			}
			t.Logf("data_received %d MiB, allocated %d KiB", recv>>20, r.alloc>>10)
			if r.alloc > 16<<20 {
				t.Fatalf("allocated %d MiB while receiving %d MiB: bodies are buffered", r.alloc>>20, recv>>20)
			}
		})
	}
}

// TestRedirectLoopNotFollowed (row 10): a step with max_redirects 0 (the
// engine's default; scenarios follow DefaultMaxRedirects unless told
// otherwise) keeps the 3xx as its answer, as curl without -L, so a redirect
// loop costs one request per arrival and ends. A 3xx counts as success
// unless the step's check says otherwise. With redirects followed, a loop
// ends at the step's limit with class redirect_limit (TestRedirects).
func TestRedirectLoopNotFollowed(t *testing.T) {
	srv := faultTarget(t)
	before := srv.Requests()
	r := runFault(t, &Engine{}, srv.URL+"/redirect-loop", 20, 500*time.Millisecond, time.Second)
	if r.st.Requests != 10 || r.st.Status[3] != 10 || srv.Requests()-before != 10 {
		t.Fatalf("requests %d, 3xx %d, server saw %d; want 10 each", r.st.Requests, r.st.Status[3], srv.Requests()-before)
	}
}

// TestDelayDistributions: the fault target's delays show in the latency
// distribution (a sanity check of the target as much as of the engine).
func TestDelayDistributions(t *testing.T) {
	srv := faultTarget(t)
	r := runFault(t, &Engine{}, srv.URL+"/delay/uniform/20ms/40ms", 100, time.Second, time.Second)
	if r.st.Requests != 100 || r.st.Failed != 0 {
		t.Fatalf("requests %d failed %d", r.st.Requests, r.st.Failed)
	}
	if lo, hi := r.st.Duration.Min(), r.st.Duration.Quantile(0.5); lo < 20*time.Millisecond || hi > 60*time.Millisecond {
		t.Fatalf("min %v, median %v; want within [20 ms, 60 ms]", lo, hi)
	}
}

// TestTargetCrashMidRun (row 2): the target dies after 0.4 s of a 1 s run.
// The schedule is kept (every arrival is sent and counted), the failures are
// classified (reset for the requests on the wire, refused after), only one
// message per class is kept, and the run ends on time.
func TestTargetCrashMidRun(t *testing.T) {
	srv := faultTarget(t)
	time.AfterFunc(400*time.Millisecond, srv.Crash)
	r := runFault(t, &Engine{}, srv.URL+"/delay/5ms", 100, time.Second, 300*time.Millisecond)
	st := r.st
	if st.Requests != 100 {
		t.Fatalf("requests %d, want all 100 arrivals", st.Requests)
	}
	ok := st.Requests - st.Failed
	if ok < 30 || ok > 45 || st.Errors[KindRefused] < 50 {
		t.Fatalf("ok %d, errors %v; want ≈ 40 ok, then refused", ok, st.Errors)
	}
	for k := KindRefused; k < NumKinds; k++ {
		if st.Errors[k] != 0 && !(k == KindRefused || k == KindReset || k == KindClosed) {
			t.Errorf("unexpected class %s (%d): %q", k, st.Errors[k], r.res.Final.ErrorSamples[k])
		}
	}
	if r.elapsed > 2*time.Second {
		t.Fatalf("run took %v", r.elapsed)
	}
}

// TestStatusStormTimeline (row 9): a 503 storm from 0.4 s to 0.8 s of a
// 1.2 s run shows in exactly the intervals it covered. (Aborting on it is
// the evaluator's job: cmd/loadgate TestExitFailedErrorRate and the slo
// tests.)
func TestStatusStormTimeline(t *testing.T) {
	srv := faultTarget(t)
	var per []int64 // 5xx per 200 ms interval
	// The storm covers intervals 3 and 4 (0.4 s to 0.8 s of the run), on
	// timers from the run's own start: switched by an observer, it would
	// start as late as the collector's goroutine is scheduled.
	e := &Engine{started: func(r *run) {
		on, off := r.start.Add(400*time.Millisecond), r.start.Add(800*time.Millisecond)
		time.AfterFunc(time.Until(on), func() { srv.Storm(503) })
		time.AfterFunc(time.Until(off), func() { srv.Storm(0) })
	}}
	r := runFault(t, e, srv.URL+"/storm", 100, 1200*time.Millisecond, time.Second, ObserverFunc(func(s *Snapshot) {
		per = append(per, s.Interval.Steps[0][0].Errors[KindStatus5xx])
	}))
	// A few requests either side of a switch may go the other way: a timer
	// or a request a few ms late, an interval closed a few ms late.
	if n := r.st.Errors[KindStatus5xx]; r.st.Requests != 120 || n < 36 || n > 44 {
		t.Fatalf("requests %d, 5xx %d; want 120 and ≈ 40", r.st.Requests, n)
	}
	if len(per) < 6 || per[0] != 0 || per[1] > 4 || per[2] < 16 || per[3] < 16 || per[4] > 4 || per[5] != 0 {
		t.Fatalf("5xx per interval %v: want 0 0 20 20 0 0", per)
	}
}

// TestTLSVariants (row 4): verification is on; each broken certificate is
// class tls, and a server that never answers the handshake is a timeout
// within the request's deadline.
func TestTLSVariants(t *testing.T) {
	for _, tc := range []struct {
		v    faults.TLSVariant
		want Kind
	}{
		{faults.Valid, KindNone},
		{faults.SelfSigned, KindTLS},
		{faults.WrongName, KindTLS},
		{faults.Expired, KindTLS},
		{faults.NoHandshake, KindTimeout},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			srv, pool, err := faults.NewTLS(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			e := &Engine{TLS: &tls.Config{RootCAs: pool}}
			r := runFault(t, e, srv.URL+"/ok", 10, 300*time.Millisecond, 300*time.Millisecond)
			if tc.want == KindNone {
				if r.st.Requests != 3 || r.st.Failed != 0 {
					t.Fatalf("valid certificate: requests %d failed %d %q", r.st.Requests, r.st.Failed, r.res.Final.ErrorSamples)
				}
				return
			}
			r.expectAll(t, tc.want)
			if r.elapsed > 1500*time.Millisecond {
				t.Fatalf("run took %v", r.elapsed)
			}
			// Preflight names the same cause before anything is sent.
			err = e.Preflight(context.Background(), constPlan(srv.URL+"/ok", 1, time.Second), 300*time.Millisecond)
			if pe, ok := err.(*preflightError); !ok || pe.Failures[0].Kind != tc.want {
				t.Fatalf("preflight: %v, want class %s", err, tc.want)
			}
		})
	}
}
