package demotarget

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/loopback"
)

// newTestServer returns a Server whose delays are recorded instead of slept, and an
// httptest server in front of it.
func newTestServer(t *testing.T, opt Options) (*Server, *httptest.Server, *delays) {
	t.Helper()
	s := New(opt)
	rec := &delays{}
	s.sleep = rec.sleep
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts, rec
}

// delays records the delays a handler asked for.
type delays struct {
	mu sync.Mutex
	d  []time.Duration
}

func (r *delays) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *delays) last() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.d) == 0 {
		return -1
	}
	return r.d[len(r.d)-1]
}

func TestEndpoints(t *testing.T) {
	_, ts, rec := newTestServer(t, Options{Seed: 1, FailRate: -1})
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantType   string // Content-Type prefix
		wantIn     []string
		wantDelay  time.Duration // -1: any; 0: none asked (or the previous one)
	}{
		// The home page is HTML and mentions the endpoints.
		{"root", "GET", "/", "", 200, "text/html", []string{"<html>", "/search"}, 0},
		// Search returns items and a result count, the shape scenarios capture from.
		{"search", "GET", "/search?q=shoes", "", 200, "application/json", []string{`"items":[{"id":`, `"results":`}, -1},
		// Search without q still has at least one item.
		{"search empty", "GET", "/search", "", 200, "application/json", []string{`"items":[{"id":`}, -1},
		{"item", "GET", "/items/42", "", 200, "application/json", []string{`"id":42`, `"name":"Item 42"`}, 0},
		{"item out of range", "GET", "/items/0", "", 404, "application/json", []string{"no such item"}, 0},
		{"item not a number", "GET", "/items/abc", "", 404, "application/json", nil, 0},
		{"login", "POST", "/login", `{"user":"ann","password":"x"}`, 200, "application/json", []string{`"token":"`}, 0},
		// Bad JSON and a missing user are client errors, not server errors.
		{"login bad json", "POST", "/login", `{`, 400, "application/json", nil, 0},
		{"login no user", "POST", "/login", `{"password":"x"}`, 400, "application/json", []string{"user is required"}, 0},
		{"checkout", "POST", "/checkout", `{"cart":[1,2]}`, 201, "application/json", []string{`"status":"created"`, `"order_id":"`}, -1},
		{"slow", "GET", "/slow", "", 200, "application/json", []string{`"slept_ms":`}, -1},
		// FailRate < 0 disables failures.
		{"flaky never fails", "GET", "/flaky", "", 200, "application/json", []string{`"ok"`}, 0},
		{"status 418", "GET", "/status/418", "", 418, "application/json", []string{`"status":418`}, 0},
		{"status 503", "GET", "/status/503", "", 503, "application/json", nil, 0},
		{"status out of range", "GET", "/status/99", "", 400, "application/json", nil, 0},
		{"delay duration", "GET", "/delay/250ms", "", 200, "application/json", []string{`"delay_ms":250`}, 250 * time.Millisecond},
		// A bare number is milliseconds.
		{"delay bare ms", "GET", "/delay/40", "", 200, "application/json", []string{`"delay_ms":40`}, 40 * time.Millisecond},
		// Delays are capped at MaxDelay (10s by default).
		{"delay capped", "GET", "/delay/1h", "", 200, "application/json", []string{`"delay_ms":10000`}, 10 * time.Second},
		{"delay invalid", "GET", "/delay/soon", "", 400, "application/json", nil, 0},
		{"delay negative", "GET", "/delay/-1s", "", 400, "application/json", nil, 0},
		{"health", "GET", "/health", "", 200, "application/json", []string{`"status":"ok"`}, 0},
		{"unknown path", "GET", "/nope", "", 404, "application/json", nil, 0},
		// A route with the wrong method falls through to "other".
		{"wrong method", "GET", "/login", "", 404, "application/json", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type = %q, want prefix %q", ct, tt.wantType)
			}
			if tt.wantType == "application/json" && !json.Valid(body) {
				t.Errorf("body is not JSON: %s", body)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(string(body), w) {
					t.Errorf("body %s does not contain %s", body, w)
				}
			}
			if tt.wantDelay > 0 && rec.last() != tt.wantDelay {
				t.Errorf("delay = %v, want %v", rec.last(), tt.wantDelay)
			}
		})
	}
}

func TestSearchShape(t *testing.T) {
	_, ts, _ := newTestServer(t, Options{})
	resp, err := ts.Client().Get(ts.URL + "/search?q=lamp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Items   []Item `json:"items"`
		Results int    `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) == 0 || page.Results < len(page.Items) {
		t.Fatalf("items %d, results %d: want 1 ≤ items ≤ results", len(page.Items), page.Results)
	}
	// The first item must be fetchable: scenarios capture it and GET /items/{id}.
	r2, err := ts.Client().Get(ts.URL + "/items/" + strconv.Itoa(page.Items[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Fatalf("GET /items/%d = %d", page.Items[0].ID, r2.StatusCode)
	}
	// The same query gives the same page.
	if a, b := search("lamp", 1000), search("lamp", 1000); !slices.Equal(a.Items, b.Items) {
		t.Fatal("search is not deterministic")
	}
}

func TestFlakyRate(t *testing.T) {
	s := New(Options{Seed: 7, FailRate: 0.2})
	const n = 20000
	fails := 0
	for range n {
		if s.fail(s.opt.FailRate) {
			fails++
		}
	}
	if got := float64(fails) / n; math.Abs(got-0.2) > 0.015 {
		t.Fatalf("fail share = %.3f, want 0.2 ± 0.015", got)
	}
	// The default is 1%.
	if got := New(Options{}).Options().FailRate; got != 0.01 {
		t.Fatalf("default FailRate = %v, want 0.01", got)
	}
	// FailRate 1 always fails over HTTP too.
	_, ts, _ := newTestServer(t, Options{FailRate: 1})
	resp, err := ts.Client().Get(ts.URL + "/flaky")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("status = %d, want 500", resp.StatusCode)
	}
}

// TestLatencyDistribution samples the draw function (no wall clock): the median of
// each endpoint's delay is near its configured median and the tail is long but capped.
func TestLatencyDistribution(t *testing.T) {
	s := New(Options{Seed: 42})
	tests := []struct {
		name     string
		median   time.Duration
		sigma    float64
		p99Ratio float64 // expected p99/median = exp(2.326·sigma)
	}{
		{"search", s.opt.SearchMedian, searchSigma, math.Exp(2.326 * searchSigma)},
		{"slow", s.opt.SlowMedian, slowSigma, math.Exp(2.326 * slowSigma)},
		{"checkout", s.opt.CheckoutMedian, checkoutSigma, math.Exp(2.326 * checkoutSigma)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 50000
			d := make([]time.Duration, n)
			for i := range d {
				d[i] = s.drawDelay(tt.median, tt.sigma)
			}
			slices.Sort(d)
			med, p99 := d[n/2], d[n*99/100]
			if r := float64(med) / float64(tt.median); r < 0.97 || r > 1.03 {
				t.Errorf("median = %v, want %v ± 3%%", med, tt.median)
			}
			if r := float64(p99) / float64(tt.median) / tt.p99Ratio; r < 0.92 || r > 1.08 {
				t.Errorf("p99 = %v, want ≈ %v", p99, time.Duration(float64(tt.median)*tt.p99Ratio))
			}
			if d[n-1] > s.opt.MaxDelay {
				t.Errorf("max = %v exceeds MaxDelay %v", d[n-1], s.opt.MaxDelay)
			}
		})
	}
	// Default medians are the documented ones.
	if s.opt.SearchMedian != 20*time.Millisecond || s.opt.SlowMedian != 200*time.Millisecond {
		t.Errorf("defaults: search %v, slow %v", s.opt.SearchMedian, s.opt.SlowMedian)
	}
}

func TestLogNormalCap(t *testing.T) {
	// A huge draw is capped, never negative.
	if got := logNormal(1e6, time.Second, 1, 5*time.Second); got != 5*time.Second {
		t.Fatalf("logNormal(huge) = %v, want the cap", got)
	}
	if got := logNormal(0, 20*time.Millisecond, 0.5, time.Second); got != 20*time.Millisecond {
		t.Fatalf("logNormal(0) = %v, want the median", got)
	}
}

func TestDeterministicSeed(t *testing.T) {
	a, b, c := New(Options{Seed: 3}), New(Options{Seed: 3}), New(Options{Seed: 4})
	for range 5 {
		ta, tb, tc := a.token(), b.token(), c.token()
		if ta != tb {
			t.Fatalf("same seed, different tokens %s %s", ta, tb)
		}
		if ta == tc {
			t.Fatalf("different seeds, same token %s", ta)
		}
	}
}

func TestRequestCounters(t *testing.T) {
	s, ts, _ := newTestServer(t, Options{})
	for _, p := range []string{"/health", "/health", "/items/1", "/items/2", "/missing"} {
		resp, err := ts.Client().Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := s.Requests(); got != 5 {
		t.Errorf("Requests() = %d, want 5", got)
	}
	want := map[string]int64{"/health": 2, "/items/{id}": 2, "other": 1}
	got := s.RequestsByPath()
	if len(got) != len(want) {
		t.Errorf("RequestsByPath() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("RequestsByPath()[%q] = %d, want %d", k, got[k], v)
		}
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	s := New(Options{ShutdownGrace: 200 * time.Millisecond})
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String()
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// A request still sleeping at shutdown is cut off after the grace period.
	inflight := make(chan error, 1)
	go func() {
		resp, err := http.Get(url + "/delay/10s")
		if err == nil {
			resp.Body.Close()
		}
		inflight <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); s.RequestsByPath()["/delay/{duration}"] == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the /delay request never reached the server")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("shutdown took %v, want about the 200ms grace", el)
	}
	<-inflight
	if _, err := http.Get(url + "/health"); err == nil {
		t.Error("server still answers after Serve returned")
	}
	if err := s.Serve(context.Background(), ln); err == nil {
		t.Error("second Serve returned nil, want an error")
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8088", true},
		{"[::1]:8088", true},
		{"localhost:8088", true},
		{":8088", false},        // all interfaces
		{"0.0.0.0:8088", false}, // all interfaces
		{"192.0.2.1:8088", false},
		{"garbage", false},
	}
	for _, tt := range tests {
		if got := loopback.Addr(tt.addr); got != tt.want {
			t.Errorf("loopback.Addr(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if _, err := Listen("0.0.0.0:0", false); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Listen(0.0.0.0:0) error = %v, want ErrNotLoopback", err)
	}
}

func TestParseDelay(t *testing.T) {
	const limit = 10 * time.Second
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"250ms", 250 * time.Millisecond, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{"40", 40 * time.Millisecond, false}, // bare number: ms
		{"0", 0, false},
		{"1e308", limit, false}, // huge: clamped, not overflowed
		{"+Inf", limit, false},
		{"NaN", 0, true},
		{"-5", 0, true},
		{"-1s", 0, true},
		{"soon", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDelay(tt.in, limit)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDelay(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseDelay(f *testing.F) {
	for _, s := range []string{"250ms", "40", "1e308", "-1s", "NaN", "1h2m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDelay(s, 10*time.Second)
		if err == nil && (d < 0 || d > 10*time.Second) {
			t.Fatalf("parseDelay(%q) = %v, outside [0, limit]", s, d)
		}
	})
}

// TestLatencyScale: the latency knob multiplies every drawn delay, draw
// for draw (same seed, same draws).
func TestLatencyScale(t *testing.T) {
	a, b := New(Options{Seed: 7}), New(Options{Seed: 7, LatencyScale: 1.2})
	for range 100 {
		da, db := a.drawDelay(20*time.Millisecond, 0.5), b.drawDelay(20*time.Millisecond, 0.5)
		if want := time.Duration(float64(da) * 1.2); db < want-time.Microsecond || db > want+time.Microsecond {
			t.Fatalf("scaled draw %v, want 1.2 × %v", db, da)
		}
	}
}

// TestQueue: /queue/2/50ms serves two requests at once and queues the
// third until a worker is free (docs/capacity.md); bad shapes are 400.
func TestQueue(t *testing.T) {
	s := New(Options{Seed: 1})
	var busy atomic.Int64
	release := make(chan struct{})
	s.sleep = func(ctx context.Context, d time.Duration) error {
		busy.Add(1)
		defer busy.Add(-1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	done := make(chan int, 3)
	for range 3 {
		go func() {
			resp, err := http.Get(srv.URL + "/queue/2/50ms")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	waitFor := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); busy.Load() != want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests in service, want %d", busy.Load(), want)
			}
		}
	}
	waitFor(2) // the third waits for a worker
	release <- struct{}{}
	if code := <-done; code != 200 {
		t.Fatalf("status %d", code)
	}
	waitFor(2) // the third took the freed worker
	close(release)
	for range 2 {
		if code := <-done; code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	for _, bad := range []string{"/queue/0/10ms", "/queue/2/0ms", "/queue/x/10ms", "/queue/2/10ms?dist=weird", "/queue/20000/1ms"} {
		resp, err := http.Get(srv.URL + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", bad, resp.StatusCode)
		}
	}
}
