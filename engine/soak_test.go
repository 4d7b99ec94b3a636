package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/faults"
)

// soakRate is the mini-soak's arrival rate: a few thousand per second is
// what the 2-core test machines sustain next to the other tests.
const soakRate = 2000

// usage is the process's footprint at one moment.
type usage struct {
	at         time.Duration
	heap       uint64 // live heap after a GC
	rss        int64  // VmRSS after free pages went back to the OS
	goroutines int
	fds        int
	// workers and conns are the engine's worker pool at that moment: a
	// goroutine each, and a connection each (two fds on loopback, the
	// client's and the in-process server's, which also runs a goroutine
	// per connection).
	workers, conns int
}

func measure(at time.Duration, r *run) usage {
	runtime.GC()
	// RSS counts pages the heap freed until the scavenger returns them,
	// which it does at its own pace: without this, RSS moves by ±20%
	// between samples of the same live heap.
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	u := usage{at: at, heap: m.HeapAlloc, goroutines: runtime.NumGoroutine(), rss: -1, fds: -1}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		u.fds = len(ents)
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				u.rss = kb << 10
			}
		}
	}
	u.workers = int(r.workers.Load())
	u.conns = r.conns.Len()
	return u
}

// outsidePool is what the process runs beyond the worker pool, which grows
// on demand up to max_in_flight (a stall of the machine makes a few more
// workers, each with its connection) and never shrinks.
func (u usage) outsidePool() (goroutines, fds int) {
	return u.goroutines - u.workers - u.conns, u.fds - 2*u.conns
}

// TestMiniSoakNoRace (docs/reliability.md, row 23 and "Soak figures"):
// soakDuration (90 s; 30 min with -tags soak) at 2000 requests/s against the
// fault target on loopback. After a warm-up the live heap, RSS, goroutines
// and open fds are sampled every 10 s. Flat means: every sample's live heap
// and RSS within 10% of the first (the warmed-up value), and the goroutines
// and fds outside the worker pool never above the fewest seen before (within
// 2, for a connection being opened at the moment of a sample); the pool
// itself within its bound. Memory must depend on the series, not on the request
// count.
//
// Every request has the same URL; series are keyed by step name anyway
// (row 22), so unique query strings could not add series.
//
// A timing and memory test: it skips under -race and -short, and make test
// runs it in its pass without -race.
func TestMiniSoakNoRace(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("soak: make test runs it without -race")
	}
	d := soakDuration
	if v := os.Getenv("LOADGATE_SOAK"); v != "" {
		if pd, err := time.ParseDuration(v); err == nil {
			d = pd
		}
	}
	srv, err := faults.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := constPlan(srv.URL+"/delay/uniform/0s/2ms", soakRate, d)
	p.Interval = time.Second
	p.StatusTrends = true
	warm := min(15*time.Second, d/4)
	every := min(10*time.Second, d/8)
	var samples []usage
	done := make(chan struct{})
	e := &Engine{started: func(r *run) {
		go func() {
			defer close(done)
			tick := time.NewTicker(every)
			defer tick.Stop()
			at := warm
			for at < d-time.Second {
				// Sample at fixed offsets of the run: the condition
				// waited for is the run's own clock reaching them.
				for r.since() < at {
					select {
					case <-r.stop:
						return
					case <-tick.C:
					case <-time.After(at - r.since()):
					}
				}
				samples = append(samples, measure(r.since().Round(time.Second), r))
				at += every
			}
		}()
	}}
	res, err := e.Run(context.Background(), p)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	st := res.Final.Total.Steps[0][0]
	for _, u := range samples {
		g, f := u.outsidePool()
		t.Logf("t=%v heap=%.1f MiB rss=%.1f MiB goroutines=%d fds=%d (pool: %d workers, %d conns; outside it: %d goroutines, %d fds)",
			u.at, float64(u.heap)/(1<<20), float64(u.rss)/(1<<20), u.goroutines, u.fds, u.workers, u.conns, g, f)
	}
	t.Logf("%d requests, %d failed, lag p99 %v, latency p99 %v", st.Requests, st.Failed, res.Final.Total.Lag.Quantile(0.99), st.Duration.Quantile(0.99))
	if want := int64(soakRate * d.Seconds()); st.Requests < want*99/100 || st.Failed > 0 {
		t.Fatalf("requests %d (want %d), failed %d", st.Requests, want, st.Failed)
	}
	if len(samples) < 3 {
		t.Fatalf("only %d samples", len(samples))
	}
	if err := flat(samples, p.Load.MaxInFlight); err != nil {
		t.Error(err)
	}
}

// flat checks the soak's samples: see TestMiniSoakNoRace.
func flat(samples []usage, maxInFlight int) error {
	first := samples[0]
	// Outside the pool, goroutines and fds may end (stragglers of the
	// tests before, in the same process) but never grow: each sample is
	// held to the fewest seen before it.
	g0, f0 := first.outsidePool()
	var errs []error
	for _, u := range samples[1:] {
		// The workers added since the warm-up bring their own memory
		// (a stack, connection buffers, the server's side): ~40 KB each
		// measured, perWorker allowed.
		pool := int64(max(u.workers-first.workers, 0)) * perWorker
		if err := within("live heap", u.at, int64(u.heap), int64(first.heap), pool); err != nil {
			errs = append(errs, err)
		}
		if err := within("RSS", u.at, u.rss, first.rss, pool); err != nil {
			errs = append(errs, err)
		}
		g, f := u.outsidePool()
		if g > g0+2 || f > f0+2 {
			errs = append(errs, fmt.Errorf("t=%v: %d goroutines and %d fds outside the worker pool, at most %d and %d before", u.at, g, f, g0, f0))
		}
		g0, f0 = min(g0, g), min(f0, f)
		if u.workers > maxInFlight || u.conns > maxInFlight {
			errs = append(errs, fmt.Errorf("t=%v: %d workers, %d connections: over max_in_flight %d", u.at, u.workers, u.conns, maxInFlight))
		}
	}
	return errors.Join(errs...)
}

// perWorker is the memory a worker added to the pool may bring.
const perWorker = 64 << 10

// within checks that v is within 10% of base, plus pool for the workers
// added since base was measured.
func within(what string, at time.Duration, v, base, pool int64) error {
	if v > base+base/10+pool || v < base-base/10 {
		return fmt.Errorf("t=%v: %s %.1f MiB, %+.0f%% from the warmed-up %.1f MiB (10%% allowed, plus %.1f MiB for the workers added since)",
			at, what, float64(v)/(1<<20), 100*(float64(v)/float64(base)-1), float64(base)/(1<<20), float64(pool)/(1<<20))
	}
	return nil
}
