//go:build linux

package engine

import (
	"net"
	"testing"
	"time"

	"github.com/loadgate/loadgate/bench/stub"
	"github.com/loadgate/loadgate/engine/internal/httpc"
	"github.com/valyala/fasthttp"
)

// startTCPStub serves the bench stub on a loopback port.
func startTCPStub(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer()
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Shutdown(); <-done })
	return ln.Addr().String()
}

// keepStamping makes sure the kernel stamps received data until the test
// ends. The kernel turns timestamping on asynchronously (a work item) when
// the first socket asks for it, and off again after the last one closes:
// this sends requests to the stub at addr over a connection of its own
// until an answer comes back stamped, then holds that connection open. A
// work item waits for a kernel worker thread, which a loaded machine may
// not run for a while: the deadline is generous.
func keepStamping(t testing.TB, addr string) {
	t.Helper()
	cs := httpc.NewConns()
	hc, err := httpc.NewHostClient("http://"+addr, httpc.Config{MaxConns: 1, Conns: cs})
	if err != nil {
		t.Fatal(err)
	}
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetRequestURI("http://" + addr + "/")
	for deadline := time.Now().Add(10 * time.Second); ; {
		var x httpc.Xfer
		if err := hc.Exchange(req, resp, time.Second, &x); err != nil {
			t.Fatal(err)
		}
		if x.Stamp != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no receive timestamp after 10 s of requests")
		}
		time.Sleep(time.Millisecond)
	}
	release, err := hc.Open(time.Second) // the stamped connection, idle in the pool
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(); cs.CloseAll() })
}

// TestSendDoesNotAllocateTCPNoRace is TestSendDoesNotAllocateNoRace over a real
// loopback connection, where reads and writes are raw and stamped.
func TestSendDoesNotAllocateTCPNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is lossy under -race; make test runs this without it")
	}
	addr := startTCPStub(t)
	keepStamping(t, addr) // the kernel turns stamps on asynchronously
	r, stop := preparedRun(t, constPlan("http://"+addr+"/", 1000, time.Second), &Engine{})
	defer stop()
	w := r.newWorker(0)
	for range 10 {
		w.send(0, 0, r.since())
	}
	if w.x.Stamp == 0 {
		t.Fatal("no receive timestamp over TCP")
	}
	if n := testing.AllocsPerRun(200, func() { w.send(0, 0, r.since()) }); n != 0 {
		t.Fatalf("send allocates %v times per request", n)
	}
	if st := r.rec.shards[0].cur.steps[0][0]; st.Requests != 211 || st.Failed != 0 {
		t.Fatalf("requests %d failed %d", st.Requests, st.Failed)
	}
}

// BenchmarkSendTCP is BenchmarkSend over a real loopback connection: raw
// reads with receive timestamps and raw writes, against the stub in this
// process (so ns/op includes the server's share).
func BenchmarkSendTCP(b *testing.B) {
	addr := startTCPStub(b)
	r, stop := preparedRun(b, constPlan("http://"+addr+"/", 1000, time.Second), &Engine{})
	defer stop()
	w := r.newWorker(0)
	w.send(0, 0, r.since())
	b.ReportAllocs()
	for b.Loop() {
		w.send(0, 0, r.since())
	}
}
