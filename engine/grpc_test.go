package engine

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/loadgate/loadgate/internal/grpctarget"
)

// shopDescriptors is shop.proto as a serialized FileDescriptorSet, as the
// scenarios package puts it in a plan.
func shopDescriptors(t testing.TB) []byte {
	t.Helper()
	files, err := grpctarget.Files()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := files.FindFileByPath("shop.proto")
	if err != nil {
		t.Fatal(err)
	}
	set := &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(fd)}}
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startShop serves the gRPC target on loopback.
func startShop(t testing.TB, opt grpctarget.Options) (*grpctarget.Server, string) {
	t.Helper()
	return grpctarget.StartTest(t, opt)
}

// grpcStepOf is a gRPC step of the shop target.
func grpcStepOf(t testing.TB, name, addr, method, message string) Step {
	return Step{Name: name, URL: "http://" + addr, Protocol: ProtoGRPC, Timeout: 2 * time.Second,
		Body: []byte(message), BodyEscape: EscapeJSON,
		GRPC: &GRPCCall{Method: "shop.Cart/" + method, ServerStreaming: method == "Watch", Descriptors: shopDescriptors(t)}}
}

func grpcPlan(rate float64, d time.Duration, steps ...Step) *Plan {
	return &Plan{Name: "g", Interval: 200 * time.Millisecond,
		Load:  Load{StartRate: rate, Stages: []Stage{{Duration: d, Target: rate}}, MaxInFlight: 100},
		Flows: []Flow{{Name: "f", Weight: 1, Steps: steps}}}
}

// TestGRPCJourney: a capture of the first call's response reaches the next
// call's message; a streamed answer is the array of its messages; checks
// judge the status by code and the JSON view; the grpc_ metrics count the
// calls and the http_ ones do not.
func TestGRPCJourney(t *testing.T) {
	s, addr := startShop(t, grpctarget.Options{WatchInterval: time.Millisecond})
	add := grpcStepOf(t, "add", addr, "Add", `{"item":7,"quantity":"{{ iteration }}"}`)
	add.Headers = []Header{{Key: "X-Delay", Value: "1ms"}, {Key: "x-trace", Value: "{{ uuid }}"}}
	add.Captures = []Capture{{Name: "cart", From: CaptureJSON, Expr: "$.cart_id"}}
	add.Checks = []Check{{Kind: CheckStatus, Statuses: []int{0}}, {Kind: CheckJSONEquals, Path: "$.lines[0].item", Value: "7"}}
	get := grpcStepOf(t, "get", addr, "Get", `{"cart_id":"{{ cart }}"}`)
	get.Checks = []Check{{Kind: CheckJSONEquals, Path: "$.status", Value: `"OPEN"`}, {Kind: CheckJSONEquals, Path: "$.count", Value: "1"}}
	watch := grpcStepOf(t, "watch", addr, "Watch", `{"cart_id":"{{ cart }}","events":3}`)
	watch.Checks = []Check{{Kind: CheckJSONExists, Path: "$[2].seq"}, {Kind: CheckJSONExists, Path: "$[3]"}}
	missing := grpcStepOf(t, "missing", addr, "Get", `{"cart_id":"nope"}`)
	missing.Accept = []int{int(codes.NotFound)}
	missing.Checks = []Check{{Kind: CheckStatus, Statuses: []int{int(codes.NotFound)}}}
	p := grpcPlan(20, time.Second, add, get, watch, missing)
	res, err := (&Engine{}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	steps := res.Final.Total.Steps[0]
	for si, name := range []string{"add", "get", "watch", "missing"} {
		st := steps[si]
		if st.Requests != 20 || st.Failed != 0 {
			t.Errorf("%s: %d calls, %d failed (errors %v)", name, st.Requests, st.Failed, res.Final.ErrorSamples)
		}
	}
	passed := func(si, ci int) int64 { return steps[si].Checks[ci].Passed }
	if passed(0, 0) != 20 || passed(0, 1) != 20 {
		t.Errorf("add checks %v", steps[0].Checks)
	}
	// iteration 0 renders quantity 0, which the server reads as 1
	if passed(1, 0) != 20 || passed(1, 1) != 2 {
		t.Errorf("get checks %v", steps[1].Checks)
	}
	if passed(2, 0) != 20 || passed(2, 1) != 0 {
		t.Errorf("watch checks %v: want $[2] in every stream of 3 and $[3] in none", steps[2].Checks)
	}
	if passed(3, 0) != 20 {
		t.Errorf("missing checks %v", steps[3].Checks)
	}
	if s.CallsOf("Add") != 20 || s.CallsOf("Get") != 40 || s.CallsOf("Watch") != 20 {
		t.Errorf("server calls: add %d get %d watch %d", s.CallsOf("Add"), s.CallsOf("Get"), s.CallsOf("Watch"))
	}
	sel, err := Select(p, "grpc_reqs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := sel.Read(res.Final.Total); v.Count != 80 {
		t.Errorf("grpc_reqs %+v, want 80", v)
	}
	msgs, err := Select(p, "grpc_msgs_received", []Tag{{Key: "step", Value: "watch"}})
	if err != nil {
		t.Fatal(err)
	}
	if v := msgs.Read(res.Final.Total); v.Count != 60 {
		t.Errorf("grpc_msgs_received{step:watch} %+v, want 60 (20 streams of 3)", v)
	}
	if sel, _ := Select(p, "http_reqs", nil); sel.HasSteps() {
		t.Error("http_reqs selects gRPC steps")
	}
}

// TestGRPCErrorKinds: a status the step does not accept counts under its
// code's kind, a deadline as a timeout, a server that refuses connections
// as refused; a template that renders a value its field cannot hold fails
// the call before it is sent.
func TestGRPCErrorKinds(t *testing.T) {
	s, addr := startShop(t, grpctarget.Options{})
	s.Storm(codes.Unavailable)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	storm := grpcStepOf(t, "storm", addr, "Add", `{}`)
	slow := grpcStepOf(t, "slow", addr, "Get", `{}`)
	slow.Headers = []Header{{Key: "x-delay", Value: "1s"}}
	slow.Timeout = 50 * time.Millisecond
	refused := grpcStepOf(t, "refused", closed, "Get", `{}`)
	bad := grpcStepOf(t, "bad", addr, "Add", `{"item":"{{ uuid }}"}`)
	p := grpcPlan(10, time.Second, storm)
	for _, st := range []Step{slow, refused, bad} {
		p.Flows = append(p.Flows, Flow{Name: st.Name, Weight: 1, Steps: []Step{st}})
	}
	calls := s.Calls()
	res, err := (&Engine{}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for fi, want := range []Kind{KindGRPCUnavailable, KindTimeout, KindRefused, KindOther} {
		st := res.Final.Total.Steps[fi][0]
		if st.Requests == 0 || st.Failed != st.Requests || st.Errors[want] != st.Requests {
			t.Errorf("%s: %d calls, %d failed, errors %v; want all %s", p.Flows[fi].Name, st.Requests, st.Failed, st.Errors, want)
		}
		if msg := res.Final.ErrorSamples[want]; msg == "" {
			t.Errorf("no error sample of %s", want)
		} else {
			t.Logf("%s: %s", want, msg)
		}
	}
	if got := s.Calls() - calls; got != res.Final.Total.Steps[0][0].Requests+res.Final.Total.Steps[1][0].Requests {
		t.Errorf("the server saw %d calls: the bad message must not be sent", got)
	}
}

// TestGRPCHardStop: calls in flight when the grace period ends are cut off
// and counted as cancelled, and the run ends on time.
func TestGRPCHardStop(t *testing.T) {
	_, addr := startShop(t, grpctarget.Options{})
	st := grpcStepOf(t, "hang", addr, "Get", `{}`)
	st.Headers = []Header{{Key: "x-delay", Value: "10s"}}
	st.Timeout = 20 * time.Second
	p := grpcPlan(20, 300*time.Millisecond, st)
	p.Grace = 200 * time.Millisecond
	began := time.Now()
	res, err := (&Engine{}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("the run took %v", d)
	}
	if res.Final.Total.Cancelled == 0 || res.Final.Total.Steps[0][0].Requests != 0 {
		t.Errorf("cancelled %d, requests %d", res.Final.Total.Cancelled, res.Final.Total.Steps[0][0].Requests)
	}
}

// TestGRPCPreflight: an unreachable target fails the preflight as refused;
// with reflection, a method the server does not have fails it too, and a
// method it has is resolved when the run starts.
func TestGRPCPreflight(t *testing.T) {
	s, addr := startShop(t, grpctarget.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	e := &Engine{}
	err = e.Preflight(context.Background(), grpcPlan(1, time.Second, grpcStepOf(t, "s", closed, "Add", `{}`)), time.Second)
	var pe *preflightError
	if !errors.As(err, &pe) || pe.Failures[0].Kind != KindRefused {
		t.Fatalf("preflight of a closed port: %v", err)
	}
	reflect := func(method string) Step {
		st := grpcStepOf(t, method, addr, method, `{"cart_id":"x"}`)
		st.GRPC.Descriptors, st.GRPC.Reflect, st.GRPC.ServerStreaming = nil, true, false
		return st
	}
	if err := e.Preflight(context.Background(), grpcPlan(1, time.Second, reflect("Nope")), time.Second); err == nil || !strings.Contains(err.Error(), "no method Nope") {
		t.Fatalf("preflight of a bad method: %v", err)
	}
	p := grpcPlan(10, 500*time.Millisecond, reflect("Watch"))
	p.Flows[0].Steps[0].Checks = []Check{{Kind: CheckJSONExists, Path: "$[2]"}}
	if err := e.Preflight(context.Background(), p, time.Second); err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	res, err := e.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	st := res.Final.Total.Steps[0][0]
	if st.Requests != 5 || st.Failed != 0 || st.Checks[0].Passed != 5 || s.Calls()-calls != 5 {
		t.Errorf("reflected Watch: %d calls, %d failed, checks %v; server %d", st.Requests, st.Failed, st.Checks, s.Calls()-calls)
	}
}

// TestGRPCStallShowsInLatencyNoRace is the coordinated-omission proof of
// stall_test.go for gRPC: calls due at a constant 500/s to a server that
// freezes every call for 1 s in every 5 s have a true latency with p90 ≈
// 0.5 s and p99 ≈ 0.95 s, with connections to spare or only 4 calls in
// flight (whose service time stays small: the wait is before the send).
// The calls share one HTTP/2 connection: what max_in_flight bounds is the
// calls, not the connections.
func TestGRPCStallShowsInLatencyNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("timing test: make test runs it without -race")
	}
	checkStall(t, "grpc_req_duration", func(t *testing.T) *Plan {
		_, addr := startShop(t, grpctarget.Options{StallEvery: 5 * time.Second, StallAt: 2 * time.Second, StallFor: time.Second})
		return grpcPlan(500, 20*time.Second, grpcStepOf(t, "add", addr, "Add", `{"item":1}`))
	})
}
