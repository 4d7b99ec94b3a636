package engine

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/internal/wstarget"
	"github.com/valyala/fasthttp"
)

// wsServer is internal/wstarget behind a handler that keeps the last
// handshake's request, for the tests of what a session sends.
type wsServer struct {
	base string // ws://127.0.0.1:port
	mu   sync.Mutex
	last *http.Request
}

func startWS(t *testing.T) *wsServer {
	t.Helper()
	ws := wstarget.New()
	s := &wsServer{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.last = r.Clone(context.Background())
		s.mu.Unlock()
		ws.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ws.Close(); hs.Close() })
	s.base = "ws" + strings.TrimPrefix(hs.URL, "http")
	return s
}

func (s *wsServer) request() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// wsPlan is a plan of one flow whose steps are steps.
func wsPlan(steps ...Step) *Plan {
	p := constPlan("http://127.0.0.1:1/", 1, time.Second)
	p.Flows[0].Steps = steps
	return p
}

func wsStepOf(name, url string, session WSSession, checks []Check, captures []Capture) Step {
	return Step{Name: name, URL: url, Protocol: ProtoWS, WS: &session, Timeout: 2 * time.Second, Checks: checks, Captures: captures}
}

// wsOnce runs the plan's first step once for a fresh worker, due lateBy
// before now, and returns the step's statistics and what exec returned.
type wsResult struct {
	st   StepStats
	per  *Period
	more bool
	took time.Duration // the exec's wall time
	w    *worker
	r    *run
}

func wsOnce(t *testing.T, p *Plan, lateBy time.Duration) wsResult {
	t.Helper()
	r, done := preparedRun(t, p, &Engine{})
	t.Cleanup(done)
	r.cut = context.Background()
	w := r.newWorker(0)
	w.begin(0, 0)
	began := time.Now()
	_, more := w.send(0, 0, r.since()-lateBy)
	took := time.Since(began)
	iv, _ := r.rec.collect(0, r.since(), func(*Period) {})
	return wsResult{st: iv.Steps[0][0], per: iv, more: more, took: took, w: w, r: r}
}

func count(h *histogram.Histogram) int64 {
	if h == nil {
		return 0
	}
	return h.Count()
}

func errKind(st StepStats) Kind {
	for k, n := range st.Errors {
		if n > 0 && Kind(k) != KindNone {
			return Kind(k)
		}
	}
	return KindNone
}

// TestWSSession is the session logic, one session per case against
// internal/wstarget: what it records, how it fails, what it captures.
func TestWSSession(t *testing.T) {
	srv := startWS(t)
	text := func(s string) WSMessage { return WSMessage{Text: s} }
	contains := func(s string) Check { return Check{Kind: CheckBodyContains, Value: s} }
	jsonEq := func(path, v string) Check { return Check{Kind: CheckJSONEquals, Path: path, Value: v} }
	type want struct {
		kind                   Kind
		more                   bool
		msgs, expected, missed int64 // ws_msg_duration count, expectations, missed
		sent                   int64
		minReceived            int64
		connected              bool
		checksHeld             int64
		minMsg, maxMsg         time.Duration // bounds of ws_msg_duration's max
		maxTook                time.Duration
	}
	cases := []struct {
		name     string
		path     string
		session  WSSession
		checks   []Check
		captures []Capture
		want     want
	}{
		{name: "echo matches", path: "/ws/echo",
			session: WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text("hi 1")}, Expect: true, Checks: 1}}},
			checks:  []Check{contains("hi")},
			want:    want{more: true, msgs: 1, expected: 1, sent: 1, minReceived: 1, connected: true, checksHeld: 1, maxMsg: time.Second}},
		{name: "late reply within", path: "/ws/echo?delay=150ms",
			session: WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text("x")}, Expect: true, Within: time.Second}}},
			want:    want{more: true, msgs: 1, expected: 1, sent: 1, minReceived: 1, connected: true, minMsg: 150 * time.Millisecond, maxMsg: time.Second}},
		{name: "late reply past within", path: "/ws/echo?delay=3s",
			session: WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text("x")}, Expect: true, Within: 100 * time.Millisecond, Checks: 1}}},
			checks:  []Check{contains("x")},
			want:    want{kind: KindTimeout, more: true, expected: 1, missed: 1, sent: 1, connected: true, maxTook: 2 * time.Second}},
		{name: "server closes", path: "/ws/echo?close=50ms",
			session: WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text("x")}, Expect: true, Checks: 1}}},
			checks:  []Check{contains("never")},
			want:    want{kind: KindWSClosed, more: true, expected: 1, missed: 1, sent: 1, minReceived: 1, connected: true, maxTook: time.Second}},
		{name: "server closes during close_after", path: "/ws/feed?close=100ms",
			session: WSSession{CloseAfter: 2 * time.Second},
			want:    want{kind: KindWSClosed, more: true, connected: true, minReceived: 1, maxTook: time.Second}},
		{name: "handshake refused", path: "/ws/echo?status=403",
			session: WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text("x")}, Expect: true}, {Expect: true}}},
			want:    want{kind: KindWSHandshake, more: true, expected: 2, missed: 2}},
		{name: "skips what does not match, captures", path: "/ws/feed?rate=200",
			session:  WSSession{Exchanges: []WSExchange{{Expect: true, Checks: 1, Captures: 1}}},
			checks:   []Check{jsonEq("$.type", `"quote"`)},
			captures: []Capture{{Name: "seq", From: CaptureJSON, Expr: "$.seq"}},
			want:     want{more: true, msgs: 1, expected: 1, minReceived: 2, connected: true, checksHeld: 1, maxMsg: time.Second}},
		{name: "capture finds nothing", path: "/ws/echo",
			session:  WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text(`{"a":1}`)}, Expect: true, Captures: 1}, {Send: []WSMessage{text("never sent")}}}},
			captures: []Capture{{Name: "b", From: CaptureJSON, Expr: "$.b"}},
			want:     want{kind: KindCapture, msgs: 1, expected: 1, sent: 1, minReceived: 1, connected: true, maxMsg: time.Second}},
		{name: "failure before a capture stops the iteration", path: "/ws/echo?delay=1s",
			session:  WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text(`{"a":1}`)}, Expect: true, Within: 50 * time.Millisecond, Captures: 1}}},
			captures: []Capture{{Name: "a", From: CaptureJSON, Expr: "$.a"}},
			want:     want{kind: KindTimeout, expected: 1, missed: 1, sent: 1, connected: true}},
		{name: "close_after holds the session and counts", path: "/ws/feed?rate=100",
			session: WSSession{CloseAfter: 300 * time.Millisecond, Ping: 50 * time.Millisecond},
			want:    want{more: true, minReceived: 10, connected: true, maxTook: 2 * time.Second}},
		{name: "close_after cuts a wait", path: "/ws/echo?delay=5s",
			session: WSSession{CloseAfter: 100 * time.Millisecond, Exchanges: []WSExchange{{Send: []WSMessage{text("x")}, Expect: true, Within: 10 * time.Second}}},
			want:    want{kind: KindTimeout, more: true, expected: 1, missed: 1, sent: 1, connected: true, maxTook: 3 * time.Second}},
		{name: "send only", path: "/ws/echo",
			session: WSSession{Exchanges: []WSExchange{{Send: []WSMessage{text("a"), text("b")}}}},
			want:    want{more: true, sent: 2, connected: true}},
		{name: "journey of exchanges", path: "/ws/feed?rate=1",
			session: WSSession{Exchanges: []WSExchange{
				{Expect: true, Checks: 1, Captures: 1},
				{Send: []WSMessage{{Text: `{"op":"subscribe","symbol":"S{{ session }}"}`, Escape: EscapeJSON}}, Expect: true, Checks: 1, Captures: 1},
			}},
			checks:   []Check{jsonEq("$.type", `"welcome"`), jsonEq("$.type", `"subscribed"`)},
			captures: []Capture{{Name: "session", From: CaptureJSON, Expr: "$.session"}, {Name: "sym", From: CaptureRegex, Expr: `"symbol":"(S[^"]+)"`}},
			want:     want{more: true, msgs: 2, expected: 2, sent: 1, minReceived: 2, connected: true, checksHeld: 2, maxMsg: time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := wsOnce(t, wsPlan(wsStepOf("s", srv.base+c.path, c.session, c.checks, c.captures)), 0)
			st, g := res.st, c.want
			if k := errKind(st); k != g.kind || st.Requests != 1 || (st.Failed == 1) != (g.kind != KindNone) {
				t.Fatalf("kind %v, requests %d, failed %d; want %v", k, st.Requests, st.Failed, g.kind)
			}
			if res.more != g.more {
				t.Errorf("more = %v, want %v", res.more, g.more)
			}
			ws := st.WS
			if count(ws.Msg) != g.msgs || count(ws.MsgService) != g.msgs || ws.Expected != g.expected || ws.Missed != g.missed || ws.MsgsSent != g.sent {
				t.Errorf("msgs %d/%d, expected %d, missed %d, sent %d; want %+v", count(ws.Msg), count(ws.MsgService), ws.Expected, ws.Missed, ws.MsgsSent, g)
			}
			if ws.MsgsReceived < g.minReceived {
				t.Errorf("received %d, want at least %d", ws.MsgsReceived, g.minReceived)
			}
			if (count(ws.Connect) == 1) != g.connected {
				t.Errorf("ws_connect_duration count %d, connected %v", count(ws.Connect), g.connected)
			}
			if st.ChecksPassed != g.checksHeld || st.ChecksTotal != int64(len(c.checks)) {
				t.Errorf("checks %d of %d, want %d of %d", st.ChecksPassed, st.ChecksTotal, g.checksHeld, len(c.checks))
			}
			if g.msgs > 0 {
				if m := ws.Msg.Max(); m < g.minMsg || m > g.maxMsg {
					t.Errorf("ws_msg_duration max %v, want %v..%v", m, g.minMsg, g.maxMsg)
				}
				if ws.MsgService.Max() > ws.Msg.Max() {
					t.Errorf("service time %v above the duration %v", ws.MsgService.Max(), ws.Msg.Max())
				}
			}
			if g.maxTook > 0 && res.took > g.maxTook {
				t.Errorf("the session took %v, want at most %v", res.took, g.maxTook)
			}
			if count(st.Duration) != 1 || st.Duration.Max() < res.took/2 {
				t.Errorf("ws_session_duration %v of a %v session", st.Duration.Max(), res.took)
			}
		})
	}
}

// TestWSSessionCaptures: the journey case's captures reach the worker's
// variables; the second exchange sent the first one's capture.
func TestWSSessionCaptures(t *testing.T) {
	srv := startWS(t)
	session := WSSession{Exchanges: []WSExchange{
		{Expect: true, Checks: 1, Captures: 1},
		{Send: []WSMessage{{Text: `{"op":"subscribe","symbol":"S{{ session }}"}`, Escape: EscapeJSON}}, Expect: true, Checks: 1, Captures: 1},
	}}
	checks := []Check{{Kind: CheckJSONEquals, Path: "$.type", Value: `"welcome"`}, {Kind: CheckJSONEquals, Path: "$.type", Value: `"subscribed"`}}
	captures := []Capture{{Name: "session", From: CaptureJSON, Expr: "$.session"}, {Name: "sym", From: CaptureRegex, Expr: `"symbol":"(S[^"]+)"`}}
	res := wsOnce(t, wsPlan(wsStepOf("s", srv.base+"/ws/feed?rate=1", session, checks, captures)), 0)
	sp := &res.r.flows[0].steps[0]
	got := map[string]string{}
	for _, ce := range sp.captures {
		got[ce.c.Name] = string(res.w.v.captures[ce.slot])
	}
	if !strings.HasPrefix(got["session"], "s-") || got["sym"] != "S"+got["session"] {
		t.Fatalf("captures %v: want session s-N and sym S<session>", got)
	}
}

// TestWSHandshakeRequest: the handshake carries the step's headers
// (templates rendered), the iteration's cookies, the subprotocols and a
// User-Agent, to the rendered URL; the handshake's own headers of a step
// (a default Connection header) are left to the client.
func TestWSHandshakeRequest(t *testing.T) {
	srv := startWS(t)
	st := wsStepOf("s", srv.base+"/ws/echo?i={{ iteration }}", WSSession{Subprotocols: []string{"b.v1", "a.v1"},
		Exchanges: []WSExchange{{Send: []WSMessage{{Text: "it {{ iteration }}"}}, Expect: true, Checks: 1}}},
		[]Check{{Kind: CheckBodyContains, Value: "it 0"}}, nil)
	st.Headers = []Header{{"Authorization", "Bearer t-{{ iteration }}"}, {"X-Static", "yes"}, {"Connection", "keep-alive"}}
	p := wsPlan(st)
	r, done := preparedRun(t, p, &Engine{UserAgent: "lg-test"})
	defer done()
	w := r.newWorker(0)
	w.begin(0, 0)
	w.jar.Store([]byte(strings.TrimPrefix(srv.base, "ws://")), cookieResp("sid=abc"))
	w.send(0, 0, r.since())
	iv, _ := r.rec.collect(0, r.since(), func(*Period) {})
	if st := iv.Steps[0][0]; st.ChecksPassed != 1 || st.Failed != 0 {
		t.Fatalf("the templated message did not come back: %+v", st)
	}
	req := srv.request()
	for h, want := range map[string]string{"Authorization": "Bearer t-0", "X-Static": "yes", "Cookie": "sid=abc",
		"User-Agent": "lg-test", "Sec-Websocket-Protocol": "b.v1, a.v1", "Connection": "Upgrade"} {
		if got := req.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if req.URL.RawQuery != "i=0" {
		t.Errorf("query %q", req.URL.RawQuery)
	}
}

// TestWSCoordinatedOmission: a session due 300 ms ago measures its
// handshake and its first expectation from then; service time from the
// actual send.
func TestWSCoordinatedOmission(t *testing.T) {
	srv := startWS(t)
	res := wsOnce(t, wsPlan(wsStepOf("s", srv.base+"/ws/echo", WSSession{Exchanges: []WSExchange{
		{Send: []WSMessage{{Text: "a"}}, Expect: true}, {Send: []WSMessage{{Text: "b"}}, Expect: true}}}, nil, nil)), 300*time.Millisecond)
	ws := res.st.WS
	if c := ws.Connect.Min(); c < 300*time.Millisecond {
		t.Fatalf("ws_connect_duration %v, want from the intended time (300 ms ago)", c)
	}
	if m := ws.Msg.Max(); m < 300*time.Millisecond {
		t.Fatalf("first ws_msg_duration %v, want from the intended time", m)
	}
	if m := ws.Msg.Min(); m > 250*time.Millisecond {
		t.Fatalf("second ws_msg_duration %v, want from the end of the first exchange", m)
	}
	if s := ws.MsgService.Max(); s > 250*time.Millisecond {
		t.Fatalf("ws_msg_service_time %v, want from the actual send", s)
	}
}

// TestWSRefused: a target that refuses connections is a transport kind.
func TestWSRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := wsOnce(t, wsPlan(wsStepOf("s", "ws://"+addr+"/", WSSession{Exchanges: []WSExchange{{Expect: true}}}, nil, nil)), 0)
	if k := errKind(res.st); k != KindRefused || res.st.WS.Missed != 1 {
		t.Fatalf("kind %v, missed %d", k, res.st.WS.Missed)
	}
	e := &Engine{}
	err = e.Preflight(t.Context(), wsPlan(wsStepOf("s", "ws://"+addr+"/", WSSession{}, nil, nil)), time.Second)
	var pe *preflightError
	if !errors.As(err, &pe) || len(pe.Failures) != 1 || pe.Failures[0].Kind != KindRefused {
		t.Fatalf("preflight: %v", err)
	}
}

// TestWSStops: the run's stop ends a session held for close_after at once
// (a success), and its hard stop cuts a session waiting for a message (a
// cancel, not a request).
func TestWSStops(t *testing.T) {
	srv := startWS(t)
	hold := wsPlan(wsStepOf("s", srv.base+"/ws/feed", WSSession{CloseAfter: 10 * time.Second}, nil, nil))
	r, done := preparedRun(t, hold, &Engine{})
	defer done()
	w := r.newWorker(0)
	w.begin(0, 0)
	time.AfterFunc(100*time.Millisecond, r.halt)
	began := time.Now()
	w.send(0, 0, r.since())
	if el := time.Since(began); el > 2*time.Second {
		t.Fatalf("a held session lasted %v after the stop", el)
	}
	iv, _ := r.rec.collect(0, r.since(), func(*Period) {})
	if st := iv.Steps[0][0]; st.Requests != 1 || st.Failed != 0 {
		t.Fatalf("held session: %d sessions, %d failed", st.Requests, st.Failed)
	}

	wait := wsPlan(wsStepOf("s", srv.base+"/ws/echo?delay=10s", WSSession{Exchanges: []WSExchange{{Send: []WSMessage{{Text: "x"}}, Expect: true, Within: 20 * time.Second}}}, nil, nil))
	r2, done2 := preparedRun(t, wait, &Engine{})
	defer done2()
	w2 := r2.newWorker(0)
	w2.begin(0, 0)
	time.AfterFunc(100*time.Millisecond, func() { r2.hard.Store(true); r2.conns.CloseAll() })
	began = time.Now()
	_, more := w2.send(0, 0, r2.since())
	if el := time.Since(began); el > 2*time.Second || more {
		t.Fatalf("a cut session lasted %v (more %v)", el, more)
	}
	iv, _ = r2.rec.collect(0, r2.since(), func(*Period) {})
	if iv.Steps[0][0].Requests != 0 || iv.Cancelled != 1 {
		t.Fatalf("cut session: %d sessions, %d cancelled", iv.Steps[0][0].Requests, iv.Cancelled)
	}
}

// TestWSRun: a whole run of WebSocket sessions at a rate, read through the
// ws_ metrics; the sessions' bytes count in data_sent and data_received.
func TestWSRun(t *testing.T) {
	srv := startWS(t)
	p := wsPlan(wsStepOf("s", srv.base+"/ws/echo", WSSession{Exchanges: []WSExchange{{Send: []WSMessage{{Text: "ping {{ iteration }}"}}, Expect: true, Checks: 1}}},
		[]Check{{Kind: CheckBodyContains, Value: "ping"}}, nil))
	p.Load = Load{StartRate: 50, Stages: []Stage{{Duration: time.Second, Target: 50}}, MaxInFlight: 100}
	e := &Engine{}
	if err := e.Preflight(t.Context(), p, time.Second); err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Final.Total
	read := func(name string) Value {
		s, err := Select(p, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.Read(tot)
	}
	sessions := read("ws_sessions").Count
	if sessions < 30 || read("ws_msgs_received").Count != sessions || read("ws_msgs_sent").Count != sessions {
		t.Fatalf("sessions %d, received %d, sent %d", sessions, read("ws_msgs_received").Count, read("ws_msgs_sent").Count)
	}
	if v := read("ws_msg_failed"); v.Total != sessions || v.Hits != 0 {
		t.Fatalf("ws_msg_failed %d of %d", v.Hits, v.Total)
	}
	if v := read("ws_session_failed"); v.Total != sessions || v.Hits != 0 {
		t.Fatalf("ws_session_failed %d of %d", v.Hits, v.Total)
	}
	for _, m := range []string{"ws_connect_duration", "ws_msg_duration", "ws_msg_service_time", "ws_session_duration"} {
		if v := read(m); v.Hist == nil || v.Hist.Count() != sessions {
			t.Fatalf("%s: %v, want %d values", m, v.Hist, sessions)
		}
	}
	if tot.BytesSent < sessions*100 || tot.BytesReceived < sessions*100 {
		t.Fatalf("data_sent %d, data_received %d for %d sessions", tot.BytesSent, tot.BytesReceived, sessions)
	}
	if h, err := Select(p, "http_reqs", nil); err != nil || h.HasSteps() {
		t.Fatalf("http_reqs of a WebSocket plan: %v %v", err, h.HasSteps())
	}
}

// TestWSValidate: what the engine refuses in a WebSocket step.
func TestWSValidate(t *testing.T) {
	ok := wsStepOf("s", "ws://127.0.0.1:1/", WSSession{Exchanges: []WSExchange{{Expect: true, Checks: 1}}}, []Check{{Kind: CheckBodyContains, Value: "x"}}, nil)
	for name, mod := range map[string]func(*Step){
		"no session":      func(s *Step) { s.WS = nil },
		"http url":        func(s *Step) { s.URL = "http://127.0.0.1:1/" },
		"checks mismatch": func(s *Step) { s.WS.Exchanges[0].Checks = 2 },
		"status check":    func(s *Step) { s.Checks[0] = Check{Kind: CheckStatus, Statuses: []int{200}} },
		"header capture": func(s *Step) {
			s.Captures = []Capture{{Name: "h", From: CaptureHeader, Expr: "X"}}
			s.WS.Exchanges[0].Captures = 1
		},
		"empty exchange":    func(s *Step) { s.WS.Exchanges = append(s.WS.Exchanges, WSExchange{}) },
		"checks w/o expect": func(s *Step) { s.WS.Exchanges[0].Expect = false },
		"negative ping":     func(s *Step) { s.WS.Ping = -1 },
	} {
		st := ok
		ws := *ok.WS
		ws.Exchanges = append([]WSExchange(nil), ok.WS.Exchanges...)
		st.WS = &ws
		st.Checks = append([]Check(nil), ok.Checks...)
		mod(&st)
		if err := wsPlan(st).Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
	if err := wsPlan(ok).Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestWSGrace: the default grace period covers a session's handshake and
// waits (bounded by close_after).
func TestWSGrace(t *testing.T) {
	st := wsStepOf("s", "ws://h/", WSSession{Exchanges: []WSExchange{{Expect: true, Within: 3 * time.Second}, {Expect: true}}}, nil, nil)
	// the handshake (2 s), each wait (3 s, then the step's timeout), the
	// close (1 s); plus 1% and the margin of a second
	if g := wsPlan(st).StopGrace(); g != 9080*time.Millisecond {
		t.Fatalf("grace %v, want 9.08s", g)
	}
	st.WS.CloseAfter = time.Second // the waits end by then
	if g := wsPlan(st).StopGrace(); g != 5040*time.Millisecond {
		t.Fatalf("grace %v with close_after 1s, want 5.04s", g)
	}
}

// cookieResp is a response that sets cookie c.
func cookieResp(c string) *fasthttp.Response {
	r := &fasthttp.Response{}
	r.Header.Set("Set-Cookie", c)
	return r
}
