package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeProto is a protocol for the tests of the dispatch: its steps
// "answer" with the rendered URL path as a JSON body, after a fixed delay.
const fakeProto = numProtocols

type fakeKind struct {
	probed  atomic.Int64
	started atomic.Int64
	closed  atomic.Int64
	execs   atomic.Int64
	down    bool
}

func (k *fakeKind) compile(st *Step, sp *stepPlan, rs *resolver) (protoStep, error) {
	return &fakeStep{k: k}, nil
}

func (k *fakeKind) probe(ctx context.Context, e *Engine, st *Step, timeout time.Duration) error {
	k.probed.Add(1)
	if k.down {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	return nil
}

type fakeStep struct{ k *fakeKind }

func (s *fakeStep) start(r *run, e *Engine) error { s.k.started.Add(1); return nil }
func (s *fakeStep) close()                        { s.k.closed.Add(1) }

func (s *fakeStep) exec(w *worker, fi, si int, due time.Duration) (time.Duration, bool) {
	s.k.execs.Add(1)
	r := w.r
	sp := &r.flows[fi].steps[si]
	sent := r.since()
	w.buf = append(append(w.buf[:0], `{"path":"`...), `x`...)
	w.buf = append(w.buf, `","status":7}`...)
	end := r.completion(sent, 0)
	smp := sample{flow: fi, step: si, intended: due, sent: sent, end: end}
	smp.checks = len(sp.checks)
	smp.checksHeld = sp.judge(nil, 7, w.buf, end-sent, true)
	more := w.captured(sp, r.steps[fi][si].step.Name, w.buf, false, true, &smp)
	smp.failed = smp.kind != KindNone
	w.shard.record(&smp)
	return end, more
}

// TestProtocolDispatch: a plan mixing an HTTP step and a step of another
// protocol runs each through its own path: the other protocol's probe,
// start, exec (with checks and captures on its JSON) and close, and its
// capture reaches the HTTP step's template; the http_ metrics count the
// HTTP step only.
func TestProtocolDispatch(t *testing.T) {
	k := &fakeKind{}
	protoKinds[fakeProto] = k
	defer delete(protoKinds, fakeProto)
	var paths atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths.Store(r.URL.Path)
	}))
	defer srv.Close()
	p := constPlan(srv.URL+"/h", 20, 200*time.Millisecond)
	other := Step{Name: "other", URL: "http://127.0.0.1:1", Protocol: fakeProto, Timeout: time.Second,
		Checks:   []Check{{Kind: CheckStatus, Statuses: []int{7}}, {Kind: CheckJSONEquals, Path: "$.path", Value: `"x"`}, {Kind: CheckHeaderEquals, Path: "A", Value: "b"}},
		Captures: []Capture{{Name: "p", From: CaptureJSON, Expr: "$.path"}}}
	p.Flows[0].Steps = []Step{other, {Name: "h", Method: "GET", URL: srv.URL + "/h/{{ p }}", Timeout: time.Second}}
	e := &Engine{}
	if err := e.Preflight(t.Context(), p, time.Second); err != nil {
		t.Fatal(err)
	}
	if k.probed.Load() != 1 {
		t.Fatalf("probed %d times, want 1", k.probed.Load())
	}
	res, err := e.Run(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if k.started.Load() != 1 || k.closed.Load() != 1 || k.execs.Load() == 0 {
		t.Fatalf("started %d, closed %d, execs %d", k.started.Load(), k.closed.Load(), k.execs.Load())
	}
	if got := paths.Load(); got != "/h/x" {
		t.Fatalf("the HTTP step got %v, want /h/x (the capture of the other step)", got)
	}
	tot := res.Final.Total
	st := tot.Steps[0][0]
	if st.Requests != k.execs.Load() || st.Checks[0].Passed != st.Requests || st.Checks[1].Passed != st.Requests || st.Checks[2].Passed != 0 {
		t.Fatalf("other step: %d requests, checks %+v", st.Requests, st.Checks)
	}
	sel, err := Select(p, "http_reqs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sel.Read(tot).Count; got != tot.Steps[0][1].Requests {
		t.Fatalf("http_reqs = %d, want the HTTP step's %d", got, tot.Steps[0][1].Requests)
	}
	any, _ := SelectAnyProtocol(p, "http_reqs")
	if got := any.Read(tot).Count; got != st.Requests+tot.Steps[0][1].Requests {
		t.Fatalf("requests of any protocol = %d", got)
	}
	g, err := Select(p, "grpc_reqs", nil)
	if err != nil || g.HasSteps() {
		t.Fatalf("grpc_reqs of a plan without gRPC: %v, has steps %v", err, g.HasSteps())
	}
	if _, err := Select(p, "grpc_reqs", []Tag{{"step", "h"}}); err == nil {
		t.Fatal("grpc_reqs{step:h} selected an HTTP step")
	}

	k.down = true
	err = e.Preflight(t.Context(), p, time.Second)
	var pe *preflightError
	if !errors.As(err, &pe) || len(pe.Failures) != 1 || pe.Failures[0].Kind != KindRefused {
		t.Fatalf("preflight of a refused target: %v", err)
	}
}

func TestKindOfGRPCCode(t *testing.T) {
	for code, want := range map[uint32]string{0: "ok", 1: "grpc_canceled", 4: "grpc_deadline_exceeded", 14: "grpc_unavailable", 16: "grpc_unauthenticated", 17: "other"} {
		if got := KindOfGRPCCode(code).String(); got != want {
			t.Errorf("code %d: %s, want %s", code, got, want)
		}
	}
}
