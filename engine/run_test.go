package engine

import (
	"github.com/loadgate/loadgate/engine/internal/httpc"

	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// constPlan is a one-step plan at a constant rate for d.
func constPlan(url string, rate float64, d time.Duration) *Plan {
	return &Plan{
		Name: "t",
		Load: Load{StartRate: rate, Stages: []Stage{{Duration: d, Target: rate}}, MaxInFlight: 100},
		Flows: []Flow{{Name: "f", Weight: 1, Steps: []Step{
			{Name: "s", Method: "GET", URL: url, Timeout: 2 * time.Second},
		}}},
		Interval: 200 * time.Millisecond,
	}
}

func TestRunConstantRateLoopback(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var snaps int
	res, err := (&Engine{}).Run(context.Background(), constPlan(srv.URL+"/x", 200, time.Second),
		ObserverFunc(func(s *Snapshot) { snaps++ }))
	if err != nil {
		t.Fatal(err)
	}
	st := res.Final.Total.Steps[0][0]
	if st.Requests != 200 || hits.Load() != 200 {
		t.Fatalf("requests = %d, server saw %d, want 200", st.Requests, hits.Load())
	}
	if st.Failed != 0 || st.Status[2] != 200 {
		t.Fatalf("failed = %d, 2xx = %d", st.Failed, st.Status[2])
	}
	if res.Final.Total.Planned != 200 || res.Final.PlannedTotal != 200 {
		t.Fatalf("planned = %d / %d, want 200", res.Final.Total.Planned, res.Final.PlannedTotal)
	}
	if !res.Final.Final || snaps < 5 {
		t.Fatalf("final=%v snapshots=%d", res.Final.Final, snaps)
	}
	if res.Stopped != nil {
		t.Fatalf("stopped: %v", res.Stopped)
	}
	// Latency counts from the intended time, so the generator's own
	// lateness on a busy machine (a -race build sharing 2 cores with
	// other tests: 138 ms once) is in it; beyond that lag, an idle
	// loopback server adds little.
	lag := res.Final.Total.Lag.Max()
	if p99 := st.Duration.Quantile(0.99); p99 > lag+100*time.Millisecond {
		t.Fatalf("p99 = %v on an idle loopback server (schedule lag max %v)", p99, lag)
	}
}

func TestRunRefusedIsClassified(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := (&Engine{}).Run(context.Background(), constPlan("http://"+addr+"/", 50, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	st := res.Final.Total.Steps[0][0]
	if st.Requests != 10 || st.Errors[KindRefused] != 10 || st.Failed != 10 {
		t.Fatalf("requests %d refused %d failed %d", st.Requests, st.Errors[KindRefused], st.Failed)
	}
	if res.Final.ErrorSamples[KindRefused] == "" {
		t.Fatal("no error sample for refused")
	}
}

// TestObserverPanicStopsRun: a panicking observer stops the run with a
// PanicError as the cause; the other observers still get the final snapshot.
func TestObserverPanicStopsRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var final bool
	bad := ObserverFunc(func(s *Snapshot) {
		if s.Seq == 2 {
			panic("boom")
		}
	})
	good := ObserverFunc(func(s *Snapshot) { final = final || s.Final })
	res, err := (&Engine{}).Run(context.Background(), constPlan(srv.URL, 50, 10*time.Second), bad, good)
	if err != nil {
		t.Fatal(err)
	}
	var pe *PanicError
	if !errors.As(res.Stopped, &pe) || pe.Where != "observer" || res.Elapsed > 5*time.Second {
		t.Fatalf("stopped = %v after %v, want an observer panic within a second", res.Stopped, res.Elapsed)
	}
	if !final {
		t.Fatal("the healthy observer missed the final snapshot")
	}
}

// countingListener counts the connections it accepts and the bytes they
// carry, and answers nothing.
type countingListener struct {
	net.Listener
	conns, bytes atomic.Int64
}

func (l *countingListener) serve() {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		l.conns.Add(1)
		go func() {
			buf := make([]byte, 512)
			for {
				n, err := c.Read(buf)
				l.bytes.Add(int64(n))
				if err != nil {
					c.Close()
					return
				}
			}
		}()
	}
}

// TestRunClockIsKernelTimer: on Linux a run is paced by a timerfd, and the
// snapshots say so; elsewhere (or when the kernel timer cannot be had) they
// name the Go timers and why, which the reports turn into a warning.
func TestRunClockIsKernelTimer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := (&Engine{}).Run(context.Background(), constPlan(srv.URL, 50, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got, why := res.Final.Clock, res.Final.ClockFallback
	if runtime.GOOS == "linux" {
		if got != ClockKernel || why != "" {
			t.Fatalf("clock %q (fallback %q), want %q on Linux", got, why, ClockKernel)
		}
		return
	}
	if got != ClockGo || why == "" {
		t.Fatalf("clock %q (fallback %q), want %q with a reason", got, why, ClockGo)
	}
}

// TestPredial: before an open-model run starts, its first 10 ms of
// connections are opened (1 + start rate/100), idle in the pool when it
// starts, with nothing sent on them.
func TestPredial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	go cl.serve()
	defer ln.Close()
	r, stop := preparedRun(t, constPlan("http://"+ln.Addr().String()+"/", 900, time.Second), &Engine{})
	defer stop()
	// One P, as under make bench: nothing else runs before the first
	// arrivals unless predial saw to it.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	wait := r.predial() // Run waits for stragglers at its end
	// The first arrivals take the connections without a dial of their own.
	hc := r.steps[0][0].doer.(*httpc.HostClient)
	for i := range 10 {
		if _, err := hc.Open(time.Second); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	wait()
	deadline := time.Now().Add(2 * time.Second)
	for cl.conns.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if got := cl.conns.Load(); got != 10 {
		t.Fatalf("%d connections for 10 arrivals after the pre-dial, want the 10 it opened (1 + 900/100)", got)
	}
	if b := cl.bytes.Load(); b != 0 {
		t.Fatalf("%d bytes sent before the start", b)
	}
}

// TestPredialBudget: dials that hang do not hold the start for more than
// predialBudget; the wait it returns ends with them.
func TestPredialBudget(t *testing.T) {
	release := make(chan struct{})
	var dials atomic.Int64
	e := &Engine{Dial: func(string) (net.Conn, error) {
		dials.Add(1)
		<-release
		return nil, errors.New("no route")
	}}
	r, stop := preparedRun(t, constPlan("http://192.0.2.1/", 300, time.Second), e)
	defer stop()
	start := time.Now()
	wait := r.predial()
	if el := time.Since(start); el < predialBudget || el > predialBudget+500*time.Millisecond {
		t.Fatalf("predial returned after %v, want the %v budget", el, predialBudget)
	}
	if got := dials.Load(); got != 4 {
		t.Fatalf("%d dials under way, want 4 at once", got)
	}
	close(release)
	wait()
}

// TestCompletion: a response completes when the kernel stamped its last
// byte, if that stamp lies between the send and now; otherwise (no stamp,
// or the wall clock stepped) when it was read.
func TestCompletion(t *testing.T) {
	r := &run{start: time.Now().Add(-time.Second)}
	sent := 500 * time.Millisecond
	for _, tc := range []struct {
		name  string
		stamp time.Time
		near  time.Duration // want the completion within 20 ms of this offset (either side: a stamp is wall time, the run's clock monotonic)
	}{
		{"no stamp: now", time.Time{}, time.Second},
		{"stamped 100 ms after the send", r.start.Add(600 * time.Millisecond), 600 * time.Millisecond},
		{"stamped before the send: ignored", r.start.Add(400 * time.Millisecond), time.Second},
		{"stamped in the future: ignored", time.Now().Add(time.Hour), time.Second},
	} {
		var ns int64
		if !tc.stamp.IsZero() {
			ns = tc.stamp.UnixNano()
		}
		if got := r.completion(sent, ns); got < tc.near-20*time.Millisecond || got > tc.near+20*time.Millisecond {
			t.Errorf("%s: completion at %v, want %v", tc.name, got, tc.near)
		}
	}
}
