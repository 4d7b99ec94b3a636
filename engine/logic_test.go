package engine

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// logicServer answers every path with JSON the tests capture from, and
// logs the paths it was asked for:
//
//	/login         {"token":"t0k","role":"<role query>","n":"7"}
//	/poll?k=K      {"state":"wait"} twice per K, then {"state":"done"}
//	/missing       404
//	anything else  {"path":"<path>","word":"abc"}
type logicServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	polls map[string]int
}

func newLogicServer(t *testing.T) *logicServer {
	ls := &logicServer{polls: map[string]int{}}
	ls.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ls.mu.Lock()
		ls.paths = append(ls.paths, r.URL.RequestURI())
		ls.mu.Unlock()
		switch r.URL.Path {
		case "/login":
			role := r.URL.Query().Get("role")
			fmt.Fprintf(w, `{"token":"t0k","role":%q,"n":"7"}`, role)
		case "/poll":
			ls.mu.Lock()
			k := r.URL.Query().Get("k")
			ls.polls[k]++
			n := ls.polls[k]
			ls.mu.Unlock()
			state := "wait"
			if n >= 3 {
				state = "done"
			}
			fmt.Fprintf(w, `{"state":%q}`, state)
		case "/missing":
			w.WriteHeader(404)
		case "/slow":
			time.Sleep(2 * time.Millisecond) // a loop of these lasts long enough to stop
			fmt.Fprint(w, "{}")
		default:
			fmt.Fprintf(w, `{"path":%q,"word":"abc"}`, r.URL.Path)
		}
	}))
	t.Cleanup(ls.Close)
	return ls
}

func (ls *logicServer) count() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.paths)
}

func (ls *logicServer) log() string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return strings.Join(ls.paths, " ")
}

// lstep is a GET step of the logic tests.
func lstep(name, url string, l *Logic, caps ...Capture) Step {
	return Step{Name: name, Method: "GET", URL: url, Timeout: 2 * time.Second, Logic: l, Captures: caps}
}

func jcap(name, path string) Capture { return Capture{Name: name, From: CaptureJSON, Expr: path} }

// TestFlowLogic runs iterations of flows with logic, one after the other
// on one worker, and checks the requests each step made (metrics stay per
// real step: a repetition counts under its step's name) and the paths the
// server saw.
func TestFlowLogic(t *testing.T) {
	items := Feeder{Name: "items", Columns: []string{"id"}, Rows: [][]string{{"a"}, {"b"}, {"c"}}}
	for _, tc := range []struct {
		name  string
		steps func(u string) []Step
		group []Group
		data  []Feeder
		iters int
		// requests per step, and iterations completed
		want      []int64
		wantIters int64
		// the paths the server saw, in order ("" to skip)
		paths string
		// a sample message of the capture class, when one is expected
		sample string
	}{
		{
			name: "repeat a step",
			steps: func(u string) []Step {
				return []Step{lstep("a", u+"/a", nil), lstep("b", u+"/b", &Logic{Repeat: 3}), lstep("c", u+"/c", nil)}
			},
			iters: 2, want: []int64{2, 6, 2}, wantIters: 2,
			paths: "/a /b /b /b /c /a /b /b /b /c",
		},
		{
			name: "repeat a group",
			steps: func(u string) []Step {
				return []Step{lstep("a", u+"/a", nil), lstep("b", u+"/b", nil), lstep("c", u+"/c", &Logic{Repeat: 2})}
			},
			group: []Group{{Name: "browse", From: 1, To: 3, Logic: Logic{Repeat: 2}}},
			iters: 1, want: []int64{1, 2, 4}, wantIters: 1,
			paths: "/a /b /c /c /b /c /c",
		},
		{
			name: "repeat over the rows of a feeder",
			steps: func(u string) []Step {
				return []Step{lstep("item", u+"/items/{{ items.id }}", &Logic{Over: "items"}), lstep("end", u+"/end", nil)}
			},
			data:  []Feeder{items},
			iters: 2, want: []int64{6, 2}, wantIters: 2,
			paths: "/items/a /items/b /items/c /end /items/a /items/b /items/c /end",
		},
		{
			name: "repeat over a feeder with a count",
			steps: func(u string) []Step {
				return []Step{lstep("item", u+"/items/{{ items.id }}", &Logic{Over: "items", Repeat: 2})}
			},
			data:  []Feeder{items},
			iters: 2, want: []int64{4}, wantIters: 2,
			paths: "/items/a /items/b /items/c /items/a",
		},
		{
			name: "if on a capture",
			steps: func(u string) []Step {
				return []Step{
					lstep("login", u+"/login?role=user", nil, jcap("role", "$.role"), jcap("n", "$.n")),
					lstep("admin", u+"/admin", &Logic{If: `role == "admin"`}),
					lstep("big", u+"/big", &Logic{If: `int(n) > 5 && float(n) < 7.5`}),
				}
			},
			iters: 2, want: []int64{2, 0, 2}, wantIters: 2,
			paths: "/login?role=user /big /login?role=user /big",
		},
		{
			name: "if on a feeder value and the iteration",
			steps: func(u string) []Step {
				return []Step{
					lstep("first", u+"/first/{{ items.id }}", &Logic{If: `items.id != "b"`}),
					lstep("odd", u+"/odd", &Logic{If: `iteration % 2 == 1`}),
				}
			},
			data:  []Feeder{items},
			iters: 3, want: []int64{2, 1}, wantIters: 3,
			paths: "/first/a /odd /first/c",
		},
		{
			name: "a skipped step leaves its captures empty",
			steps: func(u string) []Step {
				return []Step{
					lstep("login", u+"/login?role=x", &Logic{If: `iteration == 0`}, jcap("role", "$.role")),
					lstep("who", u+"/who/{{ role }}", nil),
				}
			},
			iters: 2, want: []int64{1, 2}, wantIters: 2,
			paths: "/login?role=x /who/x /who/",
		},
		{
			name: "a group skipped by its condition",
			steps: func(u string) []Step {
				return []Step{lstep("login", u+"/login?role=user", nil, jcap("role", "$.role")), lstep("a", u+"/a", nil), lstep("b", u+"/b", nil), lstep("z", u+"/z", nil)}
			},
			group: []Group{{Name: "admin", From: 1, To: 3, Logic: Logic{If: `role == "admin"`, Repeat: 5}}},
			iters: 1, want: []int64{1, 0, 0, 1}, wantIters: 1,
			paths: "/login?role=user /z",
		},
		{
			name: "stop_iteration_if ends the iteration as a success",
			steps: func(u string) []Step {
				return []Step{
					lstep("login", u+"/login?role=guest", &Logic{StopIf: `role == "guest"`}, jcap("role", "$.role")),
					lstep("after", u+"/after", nil),
				}
			},
			iters: 2, want: []int64{2, 0}, wantIters: 2,
			paths: "/login?role=guest /login?role=guest",
		},
		{
			name: "stop_iteration_if inside a loop, on the repetition index",
			steps: func(u string) []Step {
				return []Step{lstep("a", u+"/a", &Logic{Repeat: 10, StopIf: `index == 2`}), lstep("after", u+"/after", nil)}
			},
			iters: 1, want: []int64{3, 0}, wantIters: 1,
		},
		{
			name: "until ends a polling loop",
			steps: func(u string) []Step {
				return []Step{
					lstep("poll", u+"/poll?k={{ iteration }}", &Logic{Repeat: 10, Until: `state == "done"`}, jcap("state", "$.state")),
					lstep("after", u+"/after", nil),
				}
			},
			iters: 2, want: []int64{6, 2}, wantIters: 2,
			paths: "/poll?k=0 /poll?k=0 /poll?k=0 /after /poll?k=1 /poll?k=1 /poll?k=1 /after",
		},
		{
			name: "a capture name with a dash, through $env",
			steps: func(u string) []Step {
				return []Step{
					lstep("login", u+"/login?role=x", nil, jcap("the-role", "$.role")),
					lstep("x", u+"/x", &Logic{If: `$env["the-role"] == "x"`}),
					lstep("y", u+"/y", &Logic{If: `$env["the-role"] == "y"`}),
				}
			},
			iters: 1, want: []int64{1, 1, 0}, wantIters: 1,
		},
		{
			name: "status of the last step",
			steps: func(u string) []Step {
				return []Step{lstep("m", u+"/missing", nil), lstep("retry", u+"/retry", &Logic{If: `status == 404`}), lstep("never", u+"/never", &Logic{If: `status == 404`})}
			},
			iters: 1, want: []int64{1, 1, 0}, wantIters: 1,
		},
		{
			name: "a condition that fails at run time ends the iteration",
			steps: func(u string) []Step {
				return []Step{lstep("w", u+"/w", nil, jcap("word", "$.word")), lstep("x", u+"/x", &Logic{If: `int(word) > 1`})}
			},
			iters: 2, want: []int64{2, 0}, wantIters: 2,
			sample: `step "x": if int(word) > 1: `,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newLogicServer(t)
			p := constPlan(srv.URL, 10, time.Second)
			p.Flows[0].Steps, p.Flows[0].Groups, p.Data = tc.steps(srv.URL), tc.group, tc.data
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			r, stop := preparedRun(t, p, &Engine{})
			defer stop()
			if r.flows[0].logic == nil {
				t.Fatal("the flow has logic but was not compiled with it")
			}
			w := r.newWorker(0)
			for i := range tc.iters {
				w.iterate(int64(i), 0, r.since())
			}
			acc := r.rec.shards[0].cur
			for si, want := range tc.want {
				if got := acc.steps[0][si].Requests; got != want {
					t.Errorf("step %s: %d requests, want %d (server saw %s)", p.Flows[0].Steps[si].Name, got, want, srv.log())
				}
			}
			if got := acc.flows[0].iterations; got != tc.wantIters {
				t.Errorf("%d iterations completed, want %d", got, tc.wantIters)
			}
			if tc.paths != "" && srv.log() != tc.paths {
				t.Errorf("server saw\n %s\nwant\n %s", srv.log(), tc.paths)
			}
			msg := ""
			if m := r.rec.samples[KindCapture].Load(); m != nil {
				msg = *m
			}
			if tc.sample == "" && msg != "" || !strings.Contains(msg, tc.sample) {
				t.Errorf("capture sample %q, want %q", msg, tc.sample)
			}
		})
	}
}

// TestFlowLogicErrors: conditions are type-checked against the flow's
// names at compile, with the offset of the fault in the condition's text.
func TestFlowLogicErrors(t *testing.T) {
	items := Feeder{Name: "items", Columns: []string{"id"}, Rows: [][]string{{"a"}}}
	big := Feeder{Name: "big", Columns: []string{"id"}, Rows: make([][]string, MaxRepeat+1)}
	for i := range big.Rows {
		big.Rows[i] = []string{"x"}
	}
	for _, tc := range []struct {
		name   string
		logic  Logic
		key    string
		offset int // -1: no position
		msg    string
	}{
		{"unknown name", Logic{If: `token == "x" && nope > 1`}, "if", 16, "unknown name nope"},
		{"string compared with a number", Logic{If: `token > 1`}, "if", 6, "invalid operation"},
		{"not a bool", Logic{StopIf: `token`}, "stop_iteration_if", -1, "expected bool"},
		{"unknown column", Logic{If: `items.nope == ""`}, "if", 6, "unknown field nope"},
		{"syntax", Logic{If: `token ==`}, "if", 7, "unexpected token"},
		{"a disabled function", Logic{If: `now() > 0`}, "if", 0, "unknown name now"},
		{"empty", Logic{If: `  `}, "if", -1, "empty condition"},
		{"over no feeder", Logic{Over: "nope"}, "over", -1, `no data named "nope"`},
		{"over too many rows", Logic{Over: "big"}, "over", -1, "give repeat a count"},
		{"too many repetitions", Logic{Repeat: MaxRepeat + 1}, "repeat", -1, "want 1 to 1000"},
		{"until without a repeat", Logic{Until: `token == ""`}, "until", -1, "give repeat a count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Flow{Name: "f", Weight: 1, Steps: []Step{
				lstep("login", "http://h/login", nil, jcap("token", "$.t")),
				lstep("s", "http://h/s", &tc.logic),
			}}
			err := CheckLogic(&f, []Feeder{items, big})
			var le *LogicError
			if !errors.As(err, &le) {
				t.Fatalf("CheckLogic = %v, want a LogicError", err)
			}
			if le.Key != tc.key || le.Step != 1 || !strings.Contains(le.Msg, tc.msg) {
				t.Fatalf("got key %s step %d msg %q, want key %s step 1 msg %q", le.Key, le.Step, le.Msg, tc.key, tc.msg)
			}
			if tc.offset >= 0 && (!le.Pos || le.Offset != tc.offset) {
				t.Fatalf("offset %d (pos %v), want %d", le.Offset, le.Pos, tc.offset)
			}
			// The run's compile gives the same error, named.
			p := constPlan("http://h/", 1, time.Second)
			p.Flows, p.Data = []Flow{f}, []Feeder{items, big}
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), `step "s": `+tc.key) {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}

// TestFlowLogicStops: the run's stop interrupts a long loop between two
// repetitions, and the iteration is not counted as complete.
func TestFlowLogicStops(t *testing.T) {
	srv := newLogicServer(t)
	p := constPlan(srv.URL, 10, time.Second)
	p.Flows[0].Steps = []Step{lstep("a", srv.URL+"/slow", &Logic{Repeat: MaxRepeat})}
	r, stop := preparedRun(t, p, &Engine{})
	defer stop()
	w := r.newWorker(0)
	done := make(chan struct{})
	go func() {
		w.iterate(0, 0, r.since())
		close(done)
	}()
	deadline := time.After(10 * time.Second)
	for srv.count() < 3 {
		select {
		case <-deadline:
			t.Fatal("no request within 10s")
		case <-time.After(time.Millisecond):
		}
	}
	r.halt()
	select {
	case <-done:
	case <-deadline:
		t.Fatal("the loop did not stop")
	}
	acc := r.rec.shards[0].cur
	if n := acc.steps[0][0].Requests; n >= MaxRepeat {
		t.Fatalf("%d requests: the stop did not interrupt the loop", n)
	}
	if acc.flows[0].iterations != 0 {
		t.Fatal("an interrupted iteration counted as complete")
	}
}

// TestRepeatDoesNotAllocateNoRace: a flow whose only logic is a repeat
// (no condition) allocates nothing per request once warm, as a plain flow.
func TestRepeatDoesNotAllocateNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is lossy under -race")
	}
	p := constPlan("http://stub.local/bench", 1000, time.Second)
	p.Flows[0].Steps[0].Logic = &Logic{Repeat: 4}
	// and a group repeated twice over the rows of a feeder, its step
	// templated with the row.
	p.Data = []Feeder{{Name: "items", Columns: []string{"id"}, Rows: [][]string{{"a"}, {"b"}, {"c"}}}}
	p.Flows = append(p.Flows, Flow{Name: "g", Weight: 1, Steps: []Step{
		{Name: "a", Method: "GET", URL: "http://stub.local/a/{{ items.id }}", Timeout: time.Second, Logic: &Logic{Over: "items"}},
		{Name: "b", Method: "GET", URL: "http://stub.local/b", Timeout: time.Second},
	}, Groups: []Group{{Name: "g", From: 0, To: 2, Logic: Logic{Repeat: 2}}}})
	r, stop := journeyRun(t, p)
	defer stop()
	w := r.newWorker(0)
	for fi, reqs := range []int{4, 2 * (3 + 1)} {
		for i := range 10 {
			w.iterate(int64(i), fi, r.since())
		}
		if n := testing.AllocsPerRun(100, func() { w.iterate(1, fi, r.since()) }); n != 0 {
			t.Fatalf("flow %s: an iteration of %d requests allocates %v times", p.Flows[fi].Name, reqs, n)
		}
	}
	if got := r.rec.shards[0].cur.steps[1][0].Requests; got != 111*6 {
		t.Fatalf("step a: %d requests, want %d", got, 111*6)
	}
}

// BenchmarkIterateLogic is the cost of a condition: one iteration of a step
// repeated 4 times with an if on a capture and a stop_iteration_if on the
// repetition index (4 requests, 5 evaluations).
func BenchmarkIterateLogic(b *testing.B) {
	p := constPlan("http://stub.local/bench", 1000, time.Second)
	p.Flows[0].Steps = []Step{
		{Name: "cap", Method: "GET", URL: "http://stub.local/", Timeout: time.Second,
			Captures: []Capture{{Name: "server", From: CaptureHeader, Expr: "Server"}}},
		{Name: "s", Method: "GET", URL: "http://stub.local/bench", Timeout: time.Second,
			Logic: &Logic{If: `server != ""`, Repeat: 4, StopIf: `index == 9`}},
	}
	r, stop := journeyRun(b, p)
	defer stop()
	w := r.newWorker(0)
	w.iterate(0, 0, r.since())
	b.ReportAllocs()
	for b.Loop() {
		w.iterate(1, 0, r.since())
	}
}

// TestFlowLogicRun: a whole run of a flow with logic, many iterations at
// once (workers share the compiled conditions, each with its own VM):
// every iteration makes the same requests.
func TestFlowLogicRun(t *testing.T) {
	srv := newLogicServer(t)
	p := constPlan(srv.URL, 200, 500*time.Millisecond)
	p.Data = []Feeder{{Name: "items", Columns: []string{"id"}, Rows: [][]string{{"a"}, {"b"}, {"c"}}}}
	p.Flows[0].Steps = []Step{
		lstep("login", srv.URL+"/login?role=user", nil, jcap("role", "$.role"), jcap("n", "$.n")),
		lstep("item", srv.URL+"/items/{{ items.id }}", &Logic{Over: "items", If: `role == "user"`}),
		lstep("admin", srv.URL+"/admin", &Logic{If: `role == "admin"`}),
		lstep("end", srv.URL+"/end", &Logic{StopIf: `int(n) == 7`}),
		lstep("never", srv.URL+"/never", nil),
	}
	res, err := (&Engine{}).Run(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	st := res.Final.Total.Steps[0]
	n := st[0].Requests
	if n != 100 || st[1].Requests != 3*n || st[2].Requests != 0 || st[3].Requests != n || st[4].Requests != 0 {
		t.Fatalf("requests login %d item %d admin %d end %d never %d, want 100, 300, 0, 100, 0",
			n, st[1].Requests, st[2].Requests, st[3].Requests, st[4].Requests)
	}
	if it := res.Final.Total.Flows[0].Iterations; it != n {
		t.Fatalf("%d iterations complete, want %d", it, n)
	}
}
