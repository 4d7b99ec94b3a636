package cluster

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files in cluster/testdata")

// wirePlans are representative plans as the coordinator ships them, one
// of each model. Between them every field of every plan type is set
// (TestWirePlansCoverEveryField), so that a field the wire format forgets
// fails the round trip.
func wirePlans() map[string]planMsg {
	open := &engine.Plan{
		Name: "checkout-smoke",
		Load: engine.Load{
			Model: engine.Open, StartRate: 5,
			Stages:   []engine.Stage{{Duration: 30 * time.Second, Target: 50}, {Duration: 2 * time.Minute, Target: 50}, {Duration: 15 * time.Second, Target: 0}},
			Arrivals: engine.Poisson, Seed: 7, MaxInFlight: 400, Overload: engine.Drop, Slack: 750 * time.Microsecond,
		},
		Flows: []engine.Flow{
			{Name: "browse", Weight: 3, Steps: []engine.Step{
				{
					Name: "home", Method: "GET", URL: "https://shop.example.test/",
					Headers: []engine.Header{{Key: "Accept", Value: "text/html"}},
					Timeout: 5 * time.Second, Accept: []int{200, 304},
					Think: time.Second, ThinkMax: 3 * time.Second,
					Checks: []engine.Check{
						{Kind: engine.CheckStatus, Statuses: []int{200, 304}},
						{Kind: engine.CheckBodyContains, Value: "Welcome"},
						{Kind: engine.CheckMaxDuration, MaxDuration: 800 * time.Millisecond},
					},
					MaxBody: 64 << 10, MaxRedirects: 10,
				},
				{
					Name: "search", Method: "GET", URL: "https://shop.example.test/search?q={{ users.query }}&page={{ randInt 1 5 }}",
					Headers:  []engine.Header{{Key: "X-Request-Id", Value: "{{ uuid }}-{{ iteration }}-{{ vu }}"}},
					Captures: []engine.Capture{{Name: "item", From: engine.CaptureJSON, Expr: "$.items[0].id"}},
					Checks:   []engine.Check{{Kind: engine.CheckJSONExists, Path: "$.items[0].id"}},
				},
				{
					Name: "item", Method: "GET", URL: "https://shop.example.test/items/{{ item }}?at={{ now }}",
				},
			}},
			{Name: "checkout", Weight: 1, Steps: []engine.Step{
				{
					Name: "login", Method: "POST", URL: "https://shop.example.test/login",
					Headers:    []engine.Header{{Key: "Content-Type", Value: "application/json"}},
					Body:       []byte(`{"user":"{{ users.name }}","password":"{{ users.password }}"}`),
					BodyEscape: engine.EscapeJSON,
					Captures: []engine.Capture{
						{Name: "token", From: engine.CaptureHeader, Expr: "X-Auth-Token"},
						{Name: "session", From: engine.CaptureRegex, Expr: `sid=(\w+)`},
					},
					Checks: []engine.Check{
						{Kind: engine.CheckHeaderEquals, Path: "Content-Type", Value: "application/json"},
						{Kind: engine.CheckJSONEquals, Path: "$.ok", Value: "true"},
					},
					MaxRedirects: 3,
				},
				{
					Name: "buy", Method: "POST", URL: "https://shop.example.test/checkout",
					Headers:    []engine.Header{{Key: "Authorization", Value: "Bearer {{ token }}"}, {Key: "Content-Type", Value: "application/x-www-form-urlencoded"}},
					Body:       []byte("session={{ session }}&coupon={{ coupons.code }}&note=a b"),
					BodyEscape: engine.EscapeForm,
				},
				{
					Name: "upload", Method: "PUT", URL: "https://shop.example.test/upload",
					Body: []byte("raw {{ not a template }}\n"), BodyVerbatim: true,
				},
			}},
		},
		Interval:     2 * time.Second,
		Segment:      engine.Segment{Index: 1, Count: 3},
		StatusTrends: true,
		Grace:        20 * time.Second,
		Data: []engine.Feeder{
			{Name: "users", Order: engine.Random, Columns: []string{"name", "password", "query"},
				Rows: [][]string{{"ann", "s3cret", "red shoes"}, {"bob", "pa$$", "é ü"}}},
			{Name: "coupons", Order: engine.Unique, Columns: []string{"code"}, Rows: [][]string{{"A1"}, {"B2"}, {"C3"}}},
		},
		HTTPVersion: engine.HTTP2,
	}
	closed := &engine.Plan{
		Name: "users-soak",
		Load: engine.Load{
			Model: engine.Closed, StartRate: 2,
			Stages:  []engine.Stage{{Duration: time.Minute, Target: 20}},
			MaxRate: 100, Think: 500 * time.Millisecond,
		},
		Flows: []engine.Flow{{Name: "ping", Weight: 1, Steps: []engine.Step{
			{Name: "echo", Method: "POST", URL: "http://api.example.test:8080/echo", Body: []byte("id={{ ids.id }}"), BodyEscape: engine.EscapeNone},
		}}},
		Data:        []engine.Feeder{{Name: "ids", Order: engine.Sequential, Columns: []string{"id"}, Rows: [][]string{{"1"}, {"2"}}}},
		NoCookies:   true,
		HTTPVersion: engine.H2C,
	}
	// logic has flow logic on a step and on a group: a plan without any
	// (open, closed) keeps the bytes it had before flow logic.
	logic := &engine.Plan{
		Name: "logic",
		Load: engine.Load{StartRate: 1, Stages: []engine.Stage{{Duration: time.Minute, Target: 1}}},
		Flows: []engine.Flow{{Name: "shop", Weight: 1, Steps: []engine.Step{
			{Name: "login", Method: "POST", URL: "http://api.example.test/login",
				Captures: []engine.Capture{{Name: "role", From: engine.CaptureJSON, Expr: "$.role"}},
				Logic:    &engine.Logic{StopIf: `role == "guest"`}},
			{Name: "poll", Method: "GET", URL: "http://api.example.test/poll",
				Captures: []engine.Capture{{Name: "state", From: engine.CaptureJSON, Expr: "$.state"}},
				Logic:    &engine.Logic{Repeat: 10, Until: `state == "done"`}},
			{Name: "item", Method: "GET", URL: "http://api.example.test/items/{{ items.id }}",
				Logic: &engine.Logic{Over: "items"}},
			{Name: "cart", Method: "GET", URL: "http://api.example.test/cart"},
		}, Groups: []engine.Group{{Name: "browse", From: 2, To: 4, Logic: engine.Logic{If: `role == "admin"`, Repeat: 2}}}}},
		Data: []engine.Feeder{{Name: "items", Columns: []string{"id"}, Rows: [][]string{{"1"}, {"2"}}}},
	}
	return map[string]planMsg{
		"logic": wireMsg(logic, nil),
		"open": wireMsg(open, &TLSOptions{
			CAPEM:      []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
			CertPEM:    []byte("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"),
			KeyPEM:     []byte("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"),
			ServerName: "shop.example.test", InsecureSkipVerify: true, MinVersion: tls.VersionTLS12,
		}),
		"closed": wireMsg(closed, nil),
	}
}

// TestPlanWireGolden pins protocol 1's plan message: the bytes the
// coordinator sends for each representative plan are those of
// testdata/plan_NAME.json (indented there for reading: json.Marshal puts
// no space outside strings, so the indented form is one-to-one with the
// bytes sent). Renaming a field of an engine plan type, or reordering an
// enum's constants, must not change them; a change that must is a new
// protocol version.
func TestPlanWireGolden(t *testing.T) {
	for name, msg := range wirePlans() {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			path := filepath.Join("testdata", "plan_"+name+".json")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./cluster -run TestPlanWireGolden -update writes it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("the plan message of protocol %d changed; a change of the wire format needs a new protocol version\n(go test ./cluster -run TestPlanWireGolden -update rewrites %s)\ngot:\n%s\nwant:\n%s", Protocol, path, got.Bytes(), want)
			}
		})
	}
}

// TestPlanWireRoundTrip: the plan an agent decodes is the plan the
// coordinator sent, field for field, and a valid one.
func TestPlanWireRoundTrip(t *testing.T) {
	for name, msg := range wirePlans() {
		t.Run(name, func(t *testing.T) {
			want := unwire(t, msg)
			if err := want.Validate(); err != nil {
				t.Fatalf("the fixture is not a valid plan: %v", err)
			}
			b, err := json.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			var pm planMsg
			if err := decode(msgPlan, b, &pm); err != nil {
				t.Fatal(err)
			}
			if got := unwire(t, pm); !reflect.DeepEqual(got, want) {
				t.Errorf("decoded plan differs from the one sent:\ngot  %+v\nwant %+v", got, want)
			}
			if !reflect.DeepEqual(pm.TLS, msg.TLS) {
				t.Errorf("TLS options: got %+v, want %+v", pm.TLS, msg.TLS)
			}
		})
	}
}

// TestWirePlansCoverEveryField: every field of every struct reachable from
// engine.Plan (and of TLSOptions) is set in at least one of wirePlans, so
// that the golden and the round trip see it. A field added to the plan
// fails here until the fixture sets it.
func TestWirePlansCoverEveryField(t *testing.T) {
	set := map[string]bool{}    // Type.Field → non-zero somewhere
	fields := map[string]bool{} // every Type.Field met
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				k := v.Type().Name() + "." + v.Type().Field(i).Name
				fields[k] = true
				if !v.Field(i).IsZero() {
					set[k] = true
				}
				walk(v.Field(i))
			}
		}
	}
	for _, msg := range wirePlans() {
		walk(reflect.ValueOf(unwire(t, msg)))
		walk(reflect.ValueOf(msg.TLS))
	}
	for k := range fields {
		if !set[k] && !notCarried[k] {
			t.Errorf("%s is zero in every plan of wirePlans: set it in one, so that the wire format is tested with it", k)
		}
	}
}

// notCarried are the plan's fields protocol 1 has no place for: a plan
// that sets them is refused (TestWireRefusesOtherProtocols).
var notCarried = map[string]bool{"Step.Protocol": true, "Step.GRPC": true, "Step.WS": true}

// TestWireRefusesOtherProtocols: a plan with a gRPC or WebSocket step is
// not sent to agents (they would run an HTTP request in its place).
func TestWireRefusesOtherProtocols(t *testing.T) {
	for _, proto := range []engine.Protocol{engine.ProtoGRPC, engine.ProtoWS} {
		p := &engine.Plan{Flows: []engine.Flow{{Name: "f", Weight: 1, Steps: []engine.Step{{Name: "s", URL: "http://127.0.0.1:1", Protocol: proto}}}}}
		if _, err := encodePlan(p); err == nil || !strings.Contains(err.Error(), "HTTP steps only") {
			t.Errorf("%s step: err = %v, want a refusal", proto, err)
		}
	}
}

// wireMsg is the plan message the coordinator sends for p.
func wireMsg(p *engine.Plan, o *TLSOptions) planMsg {
	w, err := encodePlan(p)
	if err != nil {
		panic(err)
	}
	return planMsg{Plan: w, TLS: o}
}

// unwire is the plan an agent takes from pm.
func unwire(t *testing.T, pm planMsg) *engine.Plan {
	t.Helper()
	p, err := pm.Plan.plan()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlanWireEnums: every enum number of protocol 1 decodes to a distinct
// engine value that encodes back to it, and a number past the table is
// refused, naming where it was.
func TestPlanWireEnums(t *testing.T) {
	check := func(name string, n int, round func(uint8) (uint8, error)) {
		seen := map[uint8]bool{}
		for i := range n {
			got, err := round(uint8(i))
			if err != nil || got != uint8(i) || seen[got] {
				t.Errorf("%s %d: back as %d, %v", name, i, got, err)
			}
			seen[got] = true
		}
		if _, err := round(uint8(n)); err == nil {
			t.Errorf("%s %d: decoded, want an error", name, n)
		}
	}
	for name, e := range map[string]struct {
		n     int
		round func(uint8) (uint8, error)
	}{
		"model":     {len(models.vals), roundTrip(models)},
		"arrivals":  {len(arrivalKinds.vals), roundTrip(arrivalKinds)},
		"overload":  {len(overloads.vals), roundTrip(overloads)},
		"http":      {len(httpVersions.vals), roundTrip(httpVersions)},
		"order":     {len(orders.vals), roundTrip(orders)},
		"capture":   {len(captureSources.vals), roundTrip(captureSources)},
		"escape":    {len(escapes.vals), roundTrip(escapes)},
		"checkKind": {len(checkKinds.vals), roundTrip(checkKinds)},
	} {
		check(name, e.n, e.round)
	}

	w := wirePlans()["open"].Plan
	w.Flows[1].Steps[0].Checks[1].Kind = 9
	if _, err := w.plan(); err == nil || err.Error() != fmt.Sprintf(`flow "checkout" step "login": check kind 9 is not one of protocol %d`, Protocol) {
		t.Errorf("check kind 9: %v", err)
	}
	if _, err := encodePlan(&engine.Plan{Load: engine.Load{Model: 7}}); err == nil || err.Error() != fmt.Sprintf("load model 7 has no number in protocol %d", Protocol) {
		t.Errorf("model 7: %v", err)
	}
}

func roundTrip[T ~uint8](e wireEnum[T]) func(uint8) (uint8, error) {
	return func(n uint8) (uint8, error) {
		v, err := e.decode(n)
		if err != nil {
			return 0, err
		}
		return e.encode(v)
	}
}

// TestAgentRefusesUnknownEnum: a plan with a number protocol 1 does not
// define is refused as a bad plan, not run as the zero value.
func TestAgentRefusesUnknownEnum(t *testing.T) {
	a := startAgent(t, &Agent{})
	c := dialAgent(t, a.addr)
	if _, err := c.hello(Protocol, testToken, "enum"); err != nil {
		t.Fatal(err)
	}
	w, err := encodePlan(smallPlan("http://127.0.0.1:1/", 10, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	w.Load.Model = 7
	if err := c.fc.send(msgPlan, planMsg{Plan: w}); err != nil {
		t.Fatal(err)
	}
	c.wantRefused(c.fc.expect(5*time.Second, msgReady, &struct{}{}), RefusePlan, fmt.Sprintf("load model 7 is not one of protocol %d", Protocol))
}
