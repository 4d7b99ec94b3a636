package engine

import (
	"context"
	"os"
	"runtime"
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
	rss        int64  // VmRSS
	goroutines int
	fds        int
}

func measure(at time.Duration) usage {
	runtime.GC()
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
	return u
}

// TestMiniSoakNoRace (RELIABILITY row 23): soakDuration (90 s; 30 min with
// -tags soak) at 2000 requests/s against the fault target on loopback. After
// a warm-up the live heap, RSS, goroutines and open fds are sampled every
// 10 s; the last sample must be within tolerance of the first. Memory must
// depend on the series, not on the request count.
//
// The engine has no templates yet, so every request has the same URL; the
// series are keyed by step name anyway (row 22), so unique query strings
// could not add series.
//
// A timing and memory test: it skips under -race and -short, and make test
// runs it on its own after the race tests.
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
	var samples []usage
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		time.Sleep(warm)
		for time.Since(start) < d-time.Second {
			samples = append(samples, measure(time.Since(start).Round(time.Second)))
			select {
			case <-time.After(min(10*time.Second, d/8)):
			case <-time.After(d - time.Since(start) - time.Second):
			}
		}
	}()
	res, err := (&Engine{}).Run(context.Background(), p)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	st := res.Final.Total.Steps[0][0]
	for _, u := range samples {
		t.Logf("t=%v heap=%.1f MiB rss=%.1f MiB goroutines=%d fds=%d", u.at, float64(u.heap)/(1<<20), float64(u.rss)/(1<<20), u.goroutines, u.fds)
	}
	t.Logf("%d requests, %d failed, lag p99 %v, latency p99 %v", st.Requests, st.Failed, res.Final.Total.Lag.Quantile(0.99), st.Duration.Quantile(0.99))
	if want := int64(soakRate * d.Seconds()); st.Requests < want*99/100 || st.Failed > 0 {
		t.Fatalf("requests %d (want %d), failed %d", st.Requests, want, st.Failed)
	}
	if len(samples) < 2 {
		t.Fatalf("only %d samples", len(samples))
	}
	// The worker pool grows on demand up to max_in_flight (a GC pause
	// or a slow response makes a few more workers, each with a connection
	// and a timer fd); so goroutines and fds are checked for flatness over
	// the second half, and against the pool's bound over the whole run.
	first, mid, last := samples[0], samples[len(samples)/2], samples[len(samples)-1]
	if bound := 3*p.Load.MaxInFlight + 50; last.goroutines > bound || last.fds > bound {
		t.Errorf("goroutines %d, fds %d: over the pool's bound %d", last.goroutines, last.fds, bound)
	}
	if last.heap > first.heap+8<<20 && last.heap > first.heap*3/2 {
		t.Errorf("live heap grew from %d to %d bytes", first.heap, last.heap)
	}
	if last.rss > first.rss+32<<20 && last.rss > first.rss*3/2 {
		t.Errorf("RSS grew from %d to %d bytes", first.rss, last.rss)
	}
	if last.goroutines > mid.goroutines*3/2+10 {
		t.Errorf("goroutines grew from %d to %d over the second half", mid.goroutines, last.goroutines)
	}
	if last.fds > mid.fds*3/2+10 {
		t.Errorf("open fds grew from %d to %d over the second half", mid.fds, last.fds)
	}
}
