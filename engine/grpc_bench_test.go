package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/grpctarget"
)

// envShopServer makes the test binary a gRPC shop server (the benchmark's
// target, in a process of its own so that its CPU and allocations are not
// the client's): it prints its address and serves until stdin closes.
const envShopServer = "LOADGATE_TEST_SHOP_SERVER"

func init() {
	if os.Getenv(envShopServer) == "" {
		return
	}
	s, err := grpctarget.New(grpctarget.Options{})
	if err == nil {
		var addr string
		if addr, err = s.Start(); err == nil {
			fmt.Println(addr)
			_, _ = io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// shopProcess starts the shop server in a child process.
func shopProcess(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envShopServer+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(addr)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGRPCUnary is one unary call of a worker, one at a time, to the
// shop server in another process: a request encoded once (static), and
// one rendered from templates and encoded per call whose response is
// decoded to its JSON view for a check and a capture (templated). It
// reports the client's CPU per call (cpu-ns/op, from getrusage: the
// engine's goroutines and grpc-go's) beside the allocations.
func BenchmarkGRPCUnary(b *testing.B) {
	addr := shopProcess(b)
	for _, bc := range []struct {
		name, message string
		journey       bool
	}{
		{"static", `{"item":42}`, false},
		{"templated", `{"item":"{{ randInt 1 100 }}","quantity":"{{ vu }}"}`, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := grpcStepOf(b, "add", addr, "Add", bc.message)
			if bc.journey {
				st.Checks = []Check{{Kind: CheckStatus, Statuses: []int{0}}, {Kind: CheckJSONExists, Path: "$.lines[0].item"}}
				st.Captures = []Capture{{Name: "cart", From: CaptureJSON, Expr: "$.cart_id"}}
			}
			r, stop := preparedRun(b, grpcPlan(1000, time.Second, st), &Engine{})
			r.cut = context.Background()
			defer func() { r.closeProtos(); stop() }()
			w := r.newWorker(0)
			ps := r.flows[0].steps[0].proto
			for range 100 {
				ps.exec(w, 0, 0, r.since())
			}
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				ps.exec(w, 0, 0, r.since())
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			if st := r.rec.shards[0].cur.steps[0][0]; st.Failed != 0 {
				b.Fatalf("%d of %d calls failed", st.Failed, st.Requests)
			}
		})
	}
}
