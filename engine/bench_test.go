package engine

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/loadgate/loadgate/bench/stub"
)

// inmemoryRun prepares a run against the stub server over an in-memory
// listener, as Run would, without starting its goroutines.
func inmemoryRun(tb testing.TB) (*run, func()) {
	return journeyRun(tb, constPlan("http://stub.local/bench", 1000, time.Second))
}

// BenchmarkSend is the hot path of one request: copy-free reuse of the
// worker's request and response, send over fasthttp, classify, record into a
// shard. It must not allocate.
func BenchmarkSend(b *testing.B) {
	r, stop := inmemoryRun(b)
	defer stop()
	w := r.newWorker(0)
	w.send(0, 0, r.since()) // first use builds the worker's request
	b.ReportAllocs()
	for b.Loop() {
		w.send(0, 0, r.since())
	}
}

// TestSendDoesNotAllocateNoRace enforces the benchmark's claim in the test suite.
// Under the race detector sync.Pool drops objects on purpose, so fasthttp's
// pools allocate; make test runs this again without -race.
func TestSendDoesNotAllocateNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is lossy under -race; make test runs this without it")
	}
	r, stop := inmemoryRun(t)
	defer stop()
	w := r.newWorker(0)
	for i := 0; i < 10; i++ {
		w.send(0, 0, r.since())
	}
	if n := testing.AllocsPerRun(200, func() { w.send(0, 0, r.since()) }); n != 0 {
		t.Fatalf("send allocates %v times per request", n)
	}
	if st := r.rec.shards[0].cur.steps[0][0]; st.Requests != 211 || st.Failed != 0 {
		t.Fatalf("requests %d failed %d", st.Requests, st.Failed)
	}
}

// TestArrivalBookkeepingDoesNotAllocateNoRace: what the open model's
// worker records per arrival besides the request — its start with the
// generator's lag and its slot wait, an arrival that found no free slot,
// whether the pool is slot-bound — never allocates.
func TestArrivalBookkeepingDoesNotAllocateNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not exact under -race; make test runs this without it")
	}
	// Only the recorder: no client, no goroutine left for later tests
	// (TestMiniSoakNoRace counts them).
	plan := constPlan("http://stub.local/", 1000, time.Second).withDefaults()
	r := &run{plan: &plan}
	r.rec = newRecorder(r.plan, 1)
	w := &worker{r: r, shard: r.rec.shards[0]}
	n := testing.AllocsPerRun(200, func() {
		w.shard.recordStart(time.Millisecond, 2*time.Millisecond)
		w.shard.recordNoSlot(0)
		r.noteSlotBound(true)
		r.noteSlotBound(false)
	})
	if n != 0 {
		t.Fatalf("the per-arrival bookkeeping allocates %v times", n)
	}
	if a := r.rec.shards[0].cur; a.started != 201 || a.dropped != 201 || a.steps[0][0].Errors[KindNoFreeSlot] != 201 {
		t.Fatalf("started %d dropped %d no_free_slot %d, want 201 each", a.started, a.dropped, a.steps[0][0].Errors[KindNoFreeSlot])
	}
}

// BenchmarkRunClosed runs the whole engine (pool, collector, snapshots)
// with one user against the in-memory stub and reports requests per second
// and allocations per request, including the run's fixed setup.
func BenchmarkRunClosed(b *testing.B) {
	ln, stop := stub.StartInmemory()
	defer stop()
	e := &Engine{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	p := constPlan("http://stub.local/bench", 1, 2*time.Second)
	p.Load.Model = Closed
	b.ReportAllocs()
	var reqs int64
	for b.Loop() {
		res, err := e.Run(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		reqs += res.Final.Total.Steps[0][0].Requests
	}
	b.ReportMetric(float64(reqs)/b.Elapsed().Seconds(), "req/s")
}
