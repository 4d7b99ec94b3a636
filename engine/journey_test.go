package engine

import (
	"github.com/loadgate/loadgate/engine/internal/httpc"

	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/bench/stub"
	"github.com/valyala/fasthttp"
)

func TestParseTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // exprs as name[.col] a..b, or the error
	}{
		{"literal only", "/items", ""},
		{"capture", "/items/{{ first_id }}", "first_id"},
		{"feeder column, tight", "q={{users.term}}&x", "users.term"},
		{"builtins", "{{ uuid }}{{iteration}}{{ now }} {{ vu }}", "uuid iteration now vu"},
		{"randInt", "{{ randInt -5 10 }}", "randInt -5..10"},
		{"randInt reversed", "{{ randInt 5 1 }}", "error: randInt takes two integers"},
		{"unclosed", "/a/{{ id", "error: unclosed {{"},
		{"stray close", "/a/}}", "error: }} without {{"},
		{"empty", "{{ }}", "error: empty template"},
		{"two words", "{{ a b }}", `error: unexpected "b"`},
		{"bad name", "{{ 1a }}", "error: invalid template name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := ParseTemplate(tc.in)
			var got []string
			for _, e := range es {
				s := e.Name
				if e.Column != "" {
					s += "." + e.Column
				}
				if e.Name == builtinRandInt {
					s += fmt.Sprintf(" %d..%d", e.A, e.B)
				}
				got = append(got, s)
			}
			g := strings.Join(got, " ")
			if err != nil {
				g = "error: " + err.Error()
			}
			if !strings.HasPrefix(g, tc.want) || tc.want == "" && g != "" {
				t.Fatalf("ParseTemplate(%q) = %s, want %s", tc.in, g, tc.want)
			}
		})
	}
}

func TestRenderEscapes(t *testing.T) {
	users := Feeder{Name: "users", Columns: []string{"name", "id"}, Rows: [][]string{{`a "b"/c d`, "7"}}}
	rs := &resolver{captures: map[string]int{"tok": 0}, feeders: []Feeder{users}, used: map[int]bool{}}
	g := rng{s: 1}
	v := &vars{captures: [][]byte{[]byte("x\r\ny")}, rows: []int{0}, feeders: rs.feeders, iter: 12, vu: 3, rng: &g}
	for _, tc := range []struct {
		name, in string
		esc      Escape
		want     string
	}{
		{"url: one segment", "/u/{{ users.name }}?i={{ iteration }}", EscapeURL, "/u/a%20%22b%22%2Fc%20d?i=12"},
		{"header: no line breaks", "Bearer {{ tok }}", EscapeHeader, "Bearer xy"},
		{"json string", `{"n":"{{ users.name }}","vu":"{{ vu }}"}`, EscapeJSON, `{"n":"a \"b\"/c d","vu":"3"}`},
		{"form", "n={{ users.name }}&id={{ users.id }}", EscapeForm, "n=a+%22b%22%2Fc+d&id=7"},
		{"raw", "{{ users.name }}", EscapeNone, `a "b"/c d`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := compileTemplate(tc.in, tc.esc, rs)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(tm.render(nil, v)); got != tc.want {
				t.Fatalf("render = %s, want %s", got, tc.want)
			}
		})
	}
	if !rs.used[0] {
		t.Fatal("the feeder is not marked as used")
	}
	tm, _ := compileTemplate("{{ uuid }} {{ randInt 1 3 }}", EscapeNone, rs)
	for range 50 {
		u, n, _ := strings.Cut(string(tm.render(nil, v)), " ")
		if len(u) != 36 || u[14] != '4' || n < "1" || n > "3" || len(n) != 1 {
			t.Fatalf("uuid %q randInt %q", u, n)
		}
	}
	if _, err := compileTemplate("{{ nope }}", EscapeNone, rs); err == nil || !strings.Contains(err.Error(), "neither a capture") {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestJSONPathToGJSON(t *testing.T) {
	for in, want := range map[string]string{
		"$":                 "@this",
		"$.token":           "token",
		"$.items[0].id":     "items.0.id",
		"$[2]":              "2",
		"$['a.b'].c":        `a\.b.c`,
		`$["x y"][10]`:      "x y.10",
		"$..id":             "error",
		"$.items[*].id":     "error",
		"items.0":           "error",
		"$.items[?(@.a)].b": "error",
	} {
		got, err := JSONPathToGJSON(in)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("JSONPathToGJSON(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}

func TestChecksAndCaptures(t *testing.T) {
	st := &Step{
		URL: "http://h/x",
		Checks: []Check{
			{Kind: CheckStatus, Statuses: []int{200, 201}},
			{Kind: CheckBodyContains, Value: "widget"},
			{Kind: CheckJSONEquals, Path: "$.n", Value: "1.0"},
			{Kind: CheckJSONEquals, Path: "$.tags", Value: `[ "a", "b" ]`},
			{Kind: CheckJSONEquals, Path: "$.name", Value: `"widget"`},
			{Kind: CheckJSONExists, Path: "$.items[1]"},
			{Kind: CheckHeaderEquals, Path: "X-A", Value: "b"},
			{Kind: CheckMaxDuration, MaxDuration: time.Second},
			// these do not hold:
			{Kind: CheckJSONEquals, Path: "$.n", Value: `"1"`},
			{Kind: CheckJSONExists, Path: "$.items[5]"},
			{Kind: CheckStatus, Statuses: []int{204}},
		},
		Captures: []Capture{
			{Name: "id", From: CaptureJSON, Expr: "$.items[1].id"},
			{Name: "name", From: CaptureJSON, Expr: "$.name"},
			{Name: "num", From: CaptureRegex, Expr: `"n":(\d+)`},
			{Name: "hdr", From: CaptureHeader, Expr: "X-A"},
		},
	}
	rs := &resolver{captures: map[string]int{}, used: map[int]bool{}}
	sp, err := compileStep(st, rs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sp.captures {
		sp.captures[i].slot = i
	}
	if !sp.needBody {
		t.Fatal("body checks need the body")
	}
	resp := &fasthttp.Response{}
	resp.SetStatusCode(200)
	resp.Header.Set("X-A", "b")
	body := []byte(`{"n":1,"name":"widget","tags":["a","b"],"items":[{"id":1},{"id":"x-2"}]}`)
	if got := sp.judge(resp, resp.StatusCode(), body, time.Millisecond, true); got != 1<<8-1 {
		t.Fatalf("checks held %08b, want all 8", got)
	}
	if got := sp.judge(resp, resp.StatusCode(), body, time.Millisecond, false); got != 0 {
		t.Fatalf("%d checks held without a response", got)
	}
	v := &vars{captures: make([][]byte, 4)}
	if miss := sp.capture(resp, body, v); miss != nil {
		t.Fatalf("capture %s missed", miss.c.Name)
	}
	if got := fmt.Sprintf("%s|%s|%s|%s", v.captures[0], v.captures[1], v.captures[2], v.captures[3]); got != "x-2|widget|1|b" {
		t.Fatalf("captured %s", got)
	}
	if miss := sp.capture(resp, []byte(`{"items":[]}`), v); miss == nil || miss.c.Name != "id" {
		t.Fatalf("a missing path must fail the capture, got %v", miss)
	}
}

// TestRedirects: followed up to MaxRedirects (303 turns a POST into a GET),
// a loop ends with redirect_limit, and MaxRedirects 0 keeps the 3xx.
func TestRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/post":
			http.Redirect(w, r, "/done", http.StatusSeeOther)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/done":
			if r.Method != "GET" {
				w.WriteHeader(405)
			}
			fmt.Fprint(w, "done")
		}
	}))
	defer srv.Close()
	p := constPlan(srv.URL+"/post", 20, 250*time.Millisecond)
	p.Flows[0].Steps[0].Method = "POST"
	p.Flows[0].Steps[0].MaxRedirects = 3
	p.Flows[0].Steps[0].Checks = []Check{{Kind: CheckBodyContains, Value: "done"}}
	p.Flows[0].Steps = append(p.Flows[0].Steps,
		Step{Name: "loop", Method: "GET", URL: srv.URL + "/loop", Timeout: time.Second, MaxRedirects: 3},
		Step{Name: "keep", Method: "GET", URL: srv.URL + "/loop", Timeout: time.Second})
	res, err := (&Engine{}).Run(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	post, loop, keep := res.Final.Total.Steps[0][0], res.Final.Total.Steps[0][1], res.Final.Total.Steps[0][2]
	if post.Requests != 5 || post.Failed != 0 || post.Status[2] != 5 || post.ChecksPassed != 5 {
		t.Fatalf("post: requests %d failed %d 2xx %d checks %d", post.Requests, post.Failed, post.Status[2], post.ChecksPassed)
	}
	if loop.Errors[KindRedirectLimit] != 5 || !strings.Contains(res.Final.ErrorSamples[KindRedirectLimit], "too many redirects") {
		t.Fatalf("loop: errors %v", loop.Errors)
	}
	if keep.Status[3] != 5 || keep.Failed != 0 {
		t.Fatalf("keep: 3xx %d failed %d", keep.Status[3], keep.Failed)
	}
}

// journeyRun prepares a run of p against the in-memory stub, as
// inmemoryRun does for the plain plan.
func journeyRun(tb testing.TB, p *Plan) (*run, func()) {
	ln, stop := stub.StartInmemory()
	r, done := preparedRun(tb, p, &Engine{Dial: func(string) (net.Conn, error) { return ln.Dial() }})
	return r, func() { done(); stop() }
}

// preparedRun prepares a run of p on e as Run would, without starting its
// goroutines.
func preparedRun(tb testing.TB, p *Plan, e *Engine) (*run, func()) {
	plan := p.withDefaults()
	r := &run{plan: &plan, curve: newCurve(&plan.Load), conns: httpc.NewConns(), stop: make(chan struct{})}
	if err := r.prepare(e); err != nil {
		tb.Fatal(err)
	}
	r.rec = newRecorder(r.plan, 1)
	r.start = time.Now()
	r.clock = newClock(r.since, r.plan.Load.Slack, nil)
	return r, func() { r.conns.CloseAll(); r.clock.stop() }
}

// templatedPlan's one step has a templated path, query and header: what a
// journey's authorized call looks like.
func templatedPlan(checks bool) *Plan {
	p := constPlan("http://stub.local/items/{{ id }}?u={{ users.name }}&i={{ iteration }}", 1000, time.Second)
	p.Data = []Feeder{{Name: "users", Columns: []string{"name"}, Rows: [][]string{{"alice"}, {"bob"}}}}
	st := &p.Flows[0].Steps[0]
	st.Headers = []Header{{Key: "Authorization", Value: "Bearer {{ token }}"}}
	// the capture step comes first in a real flow; here the values are set
	// by hand, so the flow captures into its own later step's slots.
	p.Flows[0].Steps = []Step{{Name: "cap", Method: "GET", URL: "http://stub.local/", Timeout: time.Second,
		Captures: []Capture{{Name: "id", From: CaptureHeader, Expr: "Content-Type"}, {Name: "token", From: CaptureHeader, Expr: "Server"}}}, *st}
	if checks {
		p.Flows[0].Steps[1].Checks = []Check{{Kind: CheckStatus, Statuses: []int{200}}, {Kind: CheckBodyContains, Value: "Hello"}}
	}
	return p
}

func prepTemplated(tb testing.TB, checks bool) (*worker, *run, func()) {
	r, stop := journeyRun(tb, templatedPlan(checks))
	w := r.newWorker(0)
	w.begin(0, 0)
	w.v.captures[0] = []byte("42")
	w.v.captures[1] = []byte("t0k3n")
	return w, r, stop
}

// BenchmarkSendTemplated is BenchmarkSend for a templated request (path,
// query and a header rendered per request); BenchmarkSendChecked adds a
// status and a body check, which keep the body.
func BenchmarkSendTemplated(b *testing.B) {
	w, r, stop := prepTemplated(b, false)
	defer stop()
	w.send(0, 1, r.since())
	b.ReportAllocs()
	for b.Loop() {
		w.send(0, 1, r.since())
	}
}

func BenchmarkSendChecked(b *testing.B) {
	w, r, stop := prepTemplated(b, true)
	defer stop()
	w.send(0, 1, r.since())
	b.ReportAllocs()
	for b.Loop() {
		w.send(0, 1, r.since())
	}
}

// TestSendTemplatedDoesNotAllocateNoRace: rendering goes into the worker's
// buffers and fasthttp's, so a templated request (and a checked one)
// allocates nothing once warm.
func TestSendTemplatedDoesNotAllocateNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is lossy under -race")
	}
	for _, checks := range []bool{false, true} {
		w, r, stop := prepTemplated(t, checks)
		for range 10 {
			w.send(0, 1, r.since())
		}
		if n := testing.AllocsPerRun(200, func() { w.send(0, 1, r.since()) }); n != 0 {
			t.Errorf("checks %v: send allocates %v times per request", checks, n)
		}
		st := r.rec.shards[0].cur.steps[0][1]
		if st.Requests != 211 || st.Failed != 0 || checks && st.ChecksPassed != 2*211 {
			t.Errorf("requests %d failed %d checks %d/%d", st.Requests, st.Failed, st.ChecksPassed, st.ChecksTotal)
		}
		stop()
	}
}

// TestTemplatedRequestOnTheWire: what the server receives is the rendered
// request, each iteration with its own values.
func TestTemplatedRequestOnTheWire(t *testing.T) {
	got := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			w.Header().Set("Set-Cookie", "sid=s"+r.URL.Query().Get("i"))
			fmt.Fprintf(w, `{"token":"t%s"}`, r.URL.Query().Get("i"))
			return
		}
		c, _ := r.Cookie("sid")
		got <- fmt.Sprintf("%s %s %s %v", r.URL.RequestURI(), r.Header.Get("Authorization"), readAll(r), c)
	}))
	defer srv.Close()
	p := constPlan(srv.URL+"/login?i={{ iteration }}", 20, 100*time.Millisecond)
	p.Flows[0].Steps[0].Captures = []Capture{{Name: "token", From: CaptureJSON, Expr: "$.token"}}
	p.Flows[0].Steps = append(p.Flows[0].Steps, Step{Name: "use", Method: "POST", URL: srv.URL + "/u/{{ token }}", Timeout: time.Second,
		Headers: []Header{{Key: "Authorization", Value: "Bearer {{ token }}"}}, Body: []byte(`{"t":"{{ token }}"}`), BodyEscape: EscapeJSON})
	if _, err := (&Engine{}).Run(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	close(got)
	n := 0
	for s := range got {
		var i int
		if _, err := fmt.Sscanf(s, "/u/t%d", &i); err != nil {
			t.Fatalf("request %q", s)
		}
		if want := fmt.Sprintf("/u/t%d Bearer t%d {\"t\":\"t%d\"} sid=s%d", i, i, i, i); s != want {
			t.Fatalf("got %q, want %q", s, want)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d templated requests, want 2", n)
	}
}

func readAll(r *http.Request) string {
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
