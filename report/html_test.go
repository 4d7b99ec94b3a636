package report

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/testtool"
)

func TestHTMLGolden(t *testing.T) {
	b := htmlOf(t, Build(testRun(t)))
	golden(t, "summary.html", b)
	checkSelfContained(t, b)
	if bytes.Contains(b, []byte("http://")) || bytes.Contains(b, []byte("https://")) {
		t.Error("the page names an absolute URL")
	}
	for _, want := range []string{
		`<span class="badge bad">FAILED</span>`,
		`id="latency"`, `id="throughput"`, `id="errors"`, `id="spectrum"`,
		`>99.99%</text>`, `>90%</text>`, // the 1/(1-q) axis
		`service p99 (uncorrected)`, `http_req_service_time (uncorrected)`,
		`http_req_duration{step:pay}`, `p(99) &lt; 500ms`, // thresholds, escaped
		`schedule lag p99`, `POST pay: status 503`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("HTML lacks %s", want)
		}
	}
}

// TestHTMLDeterministic: the page is a function of the saved report alone
// (docs/reports.md: `loadgate report RUN.json` renders any format again
// "byte for byte"). The live run renders from its Summary; `loadgate
// report` renders from the JSON file read back with ReadJSON: both pages
// must be the same bytes. And the maps of a Summary (errors, error
// samples, metrics) must not leak their random iteration order into the
// page: summaries that differ only in the order their maps were filled
// render alike, every time.
func TestHTMLDeterministic(t *testing.T) {
	s := Build(testRun(t))
	// Several error kinds, so that an unsorted walk over the maps shows.
	for i, k := range []string{"timeout", "reset", "dns", "tls", "status_4xx", "refused", "body"} {
		s.Errors[k] = int64(10 + i)
		s.ErrorSamples[k] = "GET home: " + k
	}
	s.ErrorSamples["only_sample"] = "a kind with a sample and no count"
	live := htmlOf(t, s)

	// The live page against the page of the saved run read back.
	path := filepath.Join(t.TempDir(), "run.json")
	if err := WriteFileAtomic(path, func(w io.Writer) error { return WriteJSON(w, s) }); err != nil {
		t.Fatal(err)
	}
	saved, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if again := htmlOf(t, saved); !bytes.Equal(again, live) {
		t.Fatalf("the page of the saved run differs from the live run's (%d vs %d bytes), first difference at byte %d:\nlive:  %q\nsaved: %q",
			len(live), len(again), firstDiff(live, again), around(live, firstDiff(live, again)), around(again, firstDiff(live, again)))
	}

	// The same summary with its maps filled in reverse order, rendered
	// many times: Go randomizes each walk over a map, so any output that
	// follows one differs between some of these renderings.
	reversed := *s
	reversed.Errors = refill(s.Errors)
	reversed.ErrorSamples = refill(s.ErrorSamples)
	reversed.Metrics = Metrics(refill(map[string]Metric(s.Metrics)))
	for i := range 20 {
		if got := htmlOf(t, &reversed); !bytes.Equal(got, live) {
			d := firstDiff(live, got)
			t.Fatalf("rendering %d of the reordered summary differs at byte %d:\nfirst: %q\nnow:   %q", i, d, around(live, d), around(got, d))
		}
	}
}

// refill copies m into a new map, inserting the keys in reverse order.
func refill[V any](m map[string]V) map[string]V {
	keys := sortedKeys(m)
	out := make(map[string]V, len(m))
	for i := len(keys) - 1; i >= 0; i-- {
		out[keys[i]] = m[keys[i]]
	}
	return out
}

// firstDiff is the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// around is up to 80 bytes of b from 20 before i.
func around(b []byte, i int) []byte {
	lo := max(0, i-20)
	return b[lo:min(len(b), lo+80)]
}

// TestHTMLHostile: names users wrote are escaped, never markup.
func TestHTMLHostile(t *testing.T) {
	s := Build(testRun(t))
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>"'&` + "\x00\xff"
	s.Scenario.Name = evil
	s.Reasons = append(s.Reasons, evil)
	s.Thresholds[0].Metric = "http_req_duration{step:" + evil + "}"
	s.ErrorSamples["5xx"] = evil
	s.Metrics["checks{step:"+evil+"}"] = Metric{Type: TypeRate}
	b := htmlOf(t, s)
	for _, bad := range []string{"<script", "<img", "\x00", "\xff"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("HTML contains raw %q", bad)
		}
	}
	if !bytes.Contains(b, []byte("&lt;img src=x onerror=alert(2)&gt;")) {
		t.Error("the hostile name is not shown escaped")
	}
	checkSelfContained(t, b)
}

// TestHTMLEmpty renders a run that never started: no plan, no metrics, no
// series; every chart says so instead of drawing nothing.
func TestHTMLEmpty(t *testing.T) {
	b := htmlOf(t, Build(Run{Status: "invalid", Reasons: []string{"s.yaml:3:1: unknown key"}}))
	if n := bytes.Count(b, []byte(`class="empty"`)); n != 4 {
		t.Errorf("%d empty charts, want 4", n)
	}
	if !bytes.Contains(b, []byte(`<span class="badge other">INVALID</span>`)) {
		t.Error("no INVALID badge")
	}
	checkSelfContained(t, b)
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		max   float64
		n     int
		top   float64
		ticks int
	}{
		{1628.159, 5, 2000, 5}, // 0 500 .. 2000: the spectrum of the fixture
		{805.375, 5, 1000, 6},  // 0 200 .. 1000
		{50, 8, 50, 6},         // 0 10 .. 50: a 50 s run
		{3600, 8, 4000, 9},     // an hour in seconds
		{0, 5, 1, 6},           // no data: a unit axis
		{0.37, 5, 0.4, 5},      // 0 .1 .. .4
		{0.0049, 5, 0.005, 6},  // 0 .001 .. .005
		{99.999, 5, 100, 6},    // just under a round value
		{100.0001, 5, 150, 4},  // just over one: coarser steps, never more than n
		{7, 5, 8, 5},           // 0 2 .. 8
		{2e6, 5, 2e6, 5},       // 0 500k .. 2M
		{1e-12, 5, 1e-12, 6},   // tiny but positive
	} {
		top, ticks := niceTicks(tc.max, tc.n)
		near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Abs(b) }
		if !near(top, tc.top) || len(ticks) != tc.ticks || ticks[0] != 0 || !near(ticks[len(ticks)-1], top) || top < tc.max {
			t.Errorf("niceTicks(%v, %d) = %v %v, want top %v and %d ticks", tc.max, tc.n, top, ticks, tc.top, tc.ticks)
		}
	}
}

func TestNines(t *testing.T) {
	for d, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"} {
		if got := nines(float64(d)); got != want {
			t.Errorf("nines(%d) = %q, want %q", d, got, want)
		}
	}
}

// TestDownsample: long series are merged to at most maxChartPoints rows,
// keeping counts exact and peaks visible.
func TestDownsample(t *testing.T) {
	ps := make([]Point, 3600)
	for i := range ps {
		ps[i] = Point{T: float64(i + 1), DT: 1, Reqs: 10, P99: 5}
	}
	ps[1234].P99 = 900
	out := downsample(ps)
	if len(out) > maxChartPoints {
		t.Fatalf("%d points, want <= %d", len(out), maxChartPoints)
	}
	var reqs int64
	peak := 0.0
	for _, p := range out {
		reqs += p.Reqs
		peak = max(peak, p.P99)
	}
	if reqs != 36000 || peak != 900 || out[len(out)-1].T != 3600 {
		t.Errorf("reqs %d, peak %v, last t %v; want 36000, 900, 3600", reqs, peak, out[len(out)-1].T)
	}
}

// TestChartPointsPartialLast: the stub interval at the end of a run is not
// plotted; a full last interval is.
func TestChartPointsPartialLast(t *testing.T) {
	full := []Point{{T: 1, DT: 1}, {T: 2, DT: 1}, {T: 3, DT: 1}}
	if got := chartPoints(full); len(got) != 3 {
		t.Errorf("full intervals: %d points, want 3", len(got))
	}
	stub := append(full, Point{T: 3.05, DT: 0.05, Reqs: 1, RPS: 20})
	if got := chartPoints(stub); len(got) != 3 || got[2].T != 3 {
		t.Errorf("with a 50 ms stub: %v, want the 3 full intervals", got)
	}
	if got := chartPoints([]Point{{T: 0.05, DT: 0.05}}); len(got) != 1 {
		t.Errorf("a run shorter than one interval: %d points, want 1", len(got))
	}
}

func htmlOf(t *testing.T, s *Summary) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Markup that would make a browser fetch something or run a script: an
// attribute that loads (src, href, srcset, xlink:href, action, style with
// url()), an event handler, or an element that embeds or scripts.
var (
	tagRE      = regexp.MustCompile(`<[^>]*>`)
	fetchingRE = regexp.MustCompile(`(?i)^<(script|link|iframe|object|embed|img|image|use|base)\b|\s(src|href|srcset|action|xlink:href|on[a-z]+)\s*=|url\(|://`)
	styleRE    = regexp.MustCompile(`(?s)<style>.*?</style>`)
)

// checkSelfContained fails when the page could make a network request or
// run a script: no tag may load or script, the stylesheet has no url() or
// @import, and no absolute URL appears anywhere in markup.
func checkSelfContained(t *testing.T, b []byte) {
	t.Helper()
	for _, tag := range tagRE.FindAll(b, -1) {
		if fetchingRE.Match(tag) {
			t.Errorf("HTML tag may fetch or script: %s", tag)
		}
	}
	for _, css := range styleRE.FindAll(b, -1) {
		if bytes.Contains(css, []byte("url(")) || bytes.Contains(css, []byte("@import")) {
			t.Error("the stylesheet loads something")
		}
	}
}

// TestHTMLChromium loads the pages of a run and of a capacity search in
// headless Chromium (Debian's package, found as chromium or
// chromium-browser on PATH) with networking routed to a dead proxy, checks
// they render without console errors and takes a 1280×800 screenshot of
// each. Set LOADGATE_SCREENSHOT to keep the run's screenshot at that path
// (the search's goes next to it, with -capacity before the extension).
func TestHTMLChromium(t *testing.T) {
	// Without Chromium this fails where CI is set and is skipped elsewhere
	// (internal/testtool); the fonts package gives the page its glyphs.
	chromium := testtool.Need(t, "chromium", "chromium fonts-dejavu-core")
	shot := os.Getenv("LOADGATE_SCREENSHOT")
	t.Run("run", func(t *testing.T) {
		loadInChromium(t, chromium, htmlOf(t, Build(testRun(t))), shot)
	})
	t.Run("capacity", func(t *testing.T) {
		s := shot
		if s != "" {
			s = strings.TrimSuffix(s, filepath.Ext(s)) + "-capacity" + filepath.Ext(s)
		}
		loadInChromium(t, chromium, htmlOf(t, Build(capacityRun(t))), s)
	})
}

// loadInChromium renders page in headless Chromium to a screenshot at shot
// (a temporary file when empty) and fails on console errors, network
// requests and blank screenshots.
func loadInChromium(t *testing.T, chromium string, html []byte, shot string) {
	t.Helper()
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, html, 0o644); err != nil {
		t.Fatal(err)
	}
	if shot == "" {
		shot = filepath.Join(dir, "report.png")
	}
	shot, _ = filepath.Abs(shot)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
		// Any request would go to a closed port and fail loudly.
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--enable-logging=stderr", "--v=0",
		"--hide-scrollbars", "--window-size=1280,800", "--screenshot=" + shot,
		"file://" + page,
	}
	out, err := exec.CommandContext(ctx, chromium, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 20_000 {
		t.Fatalf("screenshot %s missing or blank (%v)\n%s", shot, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "ERR_PROXY") || strings.Contains(line, "net::ERR") {
			t.Errorf("chromium: %s", line)
		}
	}
	t.Logf("screenshot: %s (%d bytes)", shot, st.Size())
}
