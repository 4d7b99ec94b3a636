package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/loadgate/loadgate/internal/grpctarget"
)

// startGRPC serves the gRPC target (shop.Cart) on loopback.
func startGRPC(t *testing.T, opt grpctarget.Options) (*grpctarget.Server, string) {
	t.Helper()
	return grpctarget.StartTest(t, opt)
}

// grpcScenario writes a scenario whose grpc section names target and
// examples/shop.proto (or reflection), followed by rest.
func grpcScenario(t *testing.T, target string, reflect bool, rest string) string {
	t.Helper()
	proto, err := filepath.Abs("../../examples/shop.proto")
	if err != nil {
		t.Fatal(err)
	}
	src := "name: g\ngrpc:\n  target: " + target + "\n"
	if reflect {
		src += "  reflect: true\n"
	} else {
		src += "  proto: [" + proto + "]\n"
	}
	path := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(path, []byte(src+rest), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const cartFlow = `load: { rate: 20, duration: 1s }
flows:
  - name: cart
    steps:
      - name: add
        grpc: { service: shop.Cart, method: Add, message: { item: "{{ randInt 1 9 }}", quantity: 2 } }
        capture: { cart: { json: $.cart_id } }
      - name: get
        grpc: { service: shop.Cart, method: Get, message: { cart_id: "{{ cart }}" } }
        check: { status: OK, json: { path: $.count, equals: 2 } }
`

// TestGRPCCaptureRuns: the cart_id of each Add reaches the Get of the same
// iteration (a Get of another cart would fail NOT_FOUND), through the
// binary; the report counts the calls under the grpc_ metrics.
func TestGRPCCaptureRuns(t *testing.T) {
	for _, reflect := range []bool{false, true} {
		t.Run(fmt.Sprintf("reflect=%v", reflect), func(t *testing.T) {
			s, addr := startGRPC(t, grpctarget.Options{})
			sc := grpcScenario(t, "http://"+addr, reflect, cartFlow+`thresholds:
  grpc_req_failed: [ "rate == 0" ]
  checks{step:get}: [ "rate == 1" ]
`)
			r := run(t, "run", sc, "--quiet")
			r.expect(t, exitPassed)
			m := r.report["metrics"].(map[string]any)
			if n := m["grpc_reqs"].(map[string]any)["count"].(float64); n != 40 {
				t.Errorf("grpc_reqs %v, want 40", n)
			}
			if n := m["grpc_msgs_received"].(map[string]any)["count"].(float64); n != 40 {
				t.Errorf("grpc_msgs_received %v, want 40", n)
			}
			if _, ok := m["http_reqs"]; ok {
				t.Error("the report of a gRPC plan shows http_reqs")
			}
			if s.CallsOf("Add") != 20 || s.CallsOf("Get") != 20 {
				t.Errorf("server: %d Add, %d Get", s.CallsOf("Add"), s.CallsOf("Get"))
			}
		})
	}
}

// TestGRPCStatusBreaksThreshold: a storm of UNAVAILABLE is counted under
// its status class and breaks a threshold on grpc_req_failed: exit 1.
func TestGRPCStatusBreaksThreshold(t *testing.T) {
	s, addr := startGRPC(t, grpctarget.Options{})
	s.Storm(codes.Unavailable)
	sc := grpcScenario(t, "http://"+addr, false, cartFlow+`thresholds:
  grpc_req_failed: [ "rate < 1%" ]
`)
	r := run(t, "run", sc, "--quiet")
	r.expect(t, exitFailed)
	errs := r.report["errors"].(map[string]any)
	if n, _ := errs["grpc_unavailable"].(float64); n != 20 {
		t.Errorf("errors %v, want 20 grpc_unavailable (each iteration stops at its failed Add)", errs)
	}
	if sample, _ := r.report["error_samples"].(map[string]any)["grpc_unavailable"].(string); !strings.Contains(sample, "Unavailable") {
		t.Errorf("error sample %q", sample)
	}
}

// TestGRPCBadMethod: a method the .proto does not declare is exit 2 at its
// line and column, and nothing is sent; with reflection the server names
// its methods at preflight: exit 2 at the method's line and column too
// (the scenario is wrong, the server reachable), nothing sent either.
func TestGRPCBadMethod(t *testing.T) {
	s, addr := startGRPC(t, grpctarget.Options{})
	bad := strings.Replace(cartFlow, "method: Get", "method: Gte", 1)
	sc := grpcScenario(t, "http://"+addr, false, bad)
	r := run(t, "run", sc, "--quiet")
	r.expect(t, exitInvalid)
	if !regexp.MustCompile(`g\.yaml:13:45: service shop\.Cart has no method Gte \(it has Add, Get, Watch\)`).MatchString(r.stderr) ||
		!strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	r = run(t, "run", grpcScenario(t, "http://"+addr, true, bad), "--quiet")
	r.expect(t, exitInvalid)
	if !regexp.MustCompile(`g\.yaml:\d+:45: flow "cart" step "get": grpc: service shop\.Cart has no method Gte \(server reflection\)`).MatchString(r.stderr) {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := s.Calls(); n != 0 {
		t.Errorf("the server saw %d calls", n)
	}
}

// TestGRPCUnreachable: a target that refuses connections fails the
// preflight: exit 3.
func TestGRPCUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := run(t, "run", grpcScenario(t, "http://"+addr, false, cartFlow), "--quiet")
	r.expect(t, exitPreflightFailed)
	if !strings.Contains(r.stderr, "refused") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestGRPCExampleRuns runs examples/grpc.yaml, shortened to 2 s, against
// the built-in target's gRPC service: every threshold passes.
func TestGRPCExampleRuns(t *testing.T) {
	_, addr := startGRPC(t, grpctarget.Options{})
	r := run(t, "run", "../../examples/grpc.yaml", "-e", "GRPC_TARGET=http://"+addr, "-e", "DURATION=2s", "--quiet")
	r.expect(t, exitPassed)
	for _, x := range r.report["thresholds"].([]any) {
		if th := x.(map[string]any); th["passed"] != true {
			t.Errorf("threshold %v did not pass against the built-in target", th)
		}
	}
}
