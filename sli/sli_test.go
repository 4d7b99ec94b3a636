package sli

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	start := time.Unix(1700000000, 250e6)
	w := Window{Start: start, End: start.Add(36*time.Second + 100*time.Millisecond)}
	got := Expand(`sum(increase(x[$RANGE])) + y @ $END - z @ $START`, w)
	want := `sum(increase(x[37s])) + y @ 1700000036.350 - z @ 1700000000.250`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := Expand("x[$RANGE]", Window{Start: start, End: start}); got != "x[1s]" {
		t.Fatalf("empty window: %s", got)
	}
}

// TestExpandBack: an offset in the expanded query maps back to the same
// character of the query as written, and into a variable to its $.
func TestExpandBack(t *testing.T) {
	start := time.Unix(1700000000, 0)
	q := "rate(x[$RANGE]) @ $END + $NOPE)"
	sent, back := expand(q, Window{Start: start, End: start.Add(5 * time.Second)})
	if sent != "rate(x[5s]) @ 1700000005.000 + $NOPE)" {
		t.Fatalf("sent %q", sent)
	}
	for _, tc := range []struct {
		at   string // the character of sent
		nth  int
		want int // offset in q
	}{
		{"r", 0, 0},
		{"5", 0, strings.Index(q, "$RANGE")},
		{"]", 0, strings.Index(q, "]")},
		{"1", 0, strings.Index(q, "$END")},
		{"$", 0, strings.Index(q, "$NOPE")},
		{")", 1, len(q) - 1},
	} {
		off := -1
		for i, rest := 0, sent; i <= tc.nth; i++ {
			j := strings.Index(rest, tc.at)
			off += j + 1
			rest = rest[j+1:]
		}
		if got := back(off); got != tc.want {
			t.Errorf("back(%d) (%q #%d) = %d, want %d", off, tc.at, tc.nth, got, tc.want)
		}
	}
	if back(len(sent)) != len(q) || back(-3) != 0 {
		t.Errorf("out of range: %d %d", back(len(sent)), back(-3))
	}
}

// fakeProm answers /api/v1/query with the body of the query's case; an
// unknown query is refused as Prometheus refuses a syntax error.
func fakeProm(t *testing.T) *httptest.Server {
	answers := map[string]string{
		"one":    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.25"]}]}}`,
		"scalar": `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}`,
		"empty":  `{"status":"success","data":{"resultType":"vector","result":[]}}`,
		"two":    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`,
		"nan":    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}`,
		"range":  `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		"exec":   `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`,
		"html":   `<html>login</html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		switch q {
		case "slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		case "down":
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			return
		case "exec":
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		body, ok := answers[q]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			body = `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}`
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func zero() *float64 { z := 0.0; return &z }

func TestRead(t *testing.T) {
	srv := fakeProm(t)
	qs := []Query{{"one", "one", nil}, {"scalar", "scalar", nil}, {"empty", "empty", nil}, {"empty0", "empty", zero()},
		{"nan0", "nan", zero()}, {"two", "two", nil}, {"nan", "nan", nil}, {"bad", "bad(", nil}, {"slow", "slow", nil},
		{"down", "down", nil}, {"exec", "exec", nil}, {"range", "range", nil}, {"html", "html", nil}}
	q, err := New(srv.URL+"/some/prefix-s3cr3t?token=s3cr3t", 300*time.Millisecond, qs)
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Start: time.Now().Add(-5 * time.Second), End: time.Now()}
	cases := []struct {
		name   string
		value  float64
		err    string // "" for a value
		noData bool
		fault  Fault // of a *QueryError; -1 for another error
	}{
		{"one", 0.25, "", false, -1},
		{"scalar", 3, "", false, -1},
		{"empty", 0, "sli empty: query empty: no data: the query returned an empty result", true, -1},
		// empty: 0 reads an empty result as 0, and only an empty one.
		{"empty0", 0, "", false, -1},
		{"nan0", 0, "returned NaN", false, -1},
		{"two", 0, "returned 2 series; an SLI needs one number", false, -1},
		{"nan", 0, "returned NaN", false, -1},
		{"bad", 0, "sli bad: prometheus " + srv.URL + " refused the query: parse error: unexpected end of input (query as sent: bad()", false, FaultQuery},
		{"exec", 0, "refused the query: execution: many-to-many matching not allowed", false, FaultQuery},
		{"slow", 0, "sli slow: prometheus " + srv.URL + ": no answer: timed out after 300ms", false, FaultServer},
		{"down", 0, "answered server error: 502", false, FaultServer},
		{"html", 0, "answered something other than a Prometheus API response", false, FaultServer},
		{"range", 0, "returns a range vector", false, -1},
		{"missing", 0, "sli missing: no such query", false, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := q.Read(context.Background(), tc.name, w, 5*time.Second)
			if r.Name != tc.name || r.At != 5*time.Second || r.NoData != tc.noData {
				t.Fatalf("reading %+v", r)
			}
			if tc.err == "" {
				if r.Err != nil || r.Value != tc.value {
					t.Fatalf("value %v err %v, want %v", r.Value, r.Err, tc.value)
				}
				return
			}
			if r.Err == nil || !strings.Contains(r.Err.Error(), tc.err) {
				t.Fatalf("err %v, want it to contain %q", r.Err, tc.err)
			}
			// The server is named by its origin: never the path or query
			// of its URL (docs/reports.md).
			if strings.Contains(r.Err.Error(), "s3cr3t") {
				t.Fatalf("err %v shows the URL's path or query", r.Err)
			}
			var qe *QueryError
			if errors.As(r.Err, &qe) != (tc.fault >= 0) || qe != nil && qe.Fault != tc.fault {
				t.Fatalf("err %#v, want fault %d", r.Err, tc.fault)
			}
		})
	}
}

// TestCheck: preflight's query (Check) tells a query Prometheus refuses
// (FaultQuery, with the offset of the error in the query as written) from a
// server that does not answer (FaultServer), and does not judge the value.
func TestCheck(t *testing.T) {
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		q := r.Form.Get("query")
		sent = append(sent, q)
		switch {
		case strings.HasPrefix(q, "sum(rate(x[1s]"):
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 2:3: parse error: unexpected \"}\""}`))
		case q == "x[1s]":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
		default:
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
		}
	}))
	defer srv.Close()
	q, err := New(srv.URL, time.Second, []Query{
		{"ok", "sum(rate(y[$RANGE]))", nil},
		{"bad", "sum(rate(x[$RANGE]) +\n  })", nil},
		{"range", "x[$RANGE]", nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if e := q.Check(context.Background(), "ok", now); e != nil {
		t.Fatalf("ok: %v (an empty answer before the run is no error)", e)
	}
	if len(sent) != 1 || sent[0] != "sum(rate(y[1s]))" {
		t.Fatalf("sent %q, want the query over the last second", sent)
	}
	e := q.Check(context.Background(), "bad", now)
	if e == nil || e.Fault != FaultQuery || e.Offset != strings.Index("sum(rate(x[$RANGE]) +\n  })", "}") ||
		e.Msg != `parse error: unexpected "}"` {
		t.Fatalf("bad: %#v", e)
	}
	if e := q.Check(context.Background(), "range", now); e == nil || e.Fault != FaultQuery || !strings.Contains(e.Msg, "range vector") {
		t.Fatalf("range: %#v", e)
	}
}

// A Prometheus that is not there is a reading with the reason, and a
// FaultServer.
func TestReadClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	q, _ := New("http://"+addr+"/prefix?token=s3cr3t", time.Second, []Query{{"cpu", "up", nil}})
	rs := q.ReadAll(context.Background(), []string{"cpu"}, Window{End: time.Now()}, 0)
	if len(rs) != 1 || rs[0].Err == nil || !strings.Contains(rs[0].Err.Error(), "connection refused") {
		t.Fatalf("readings %+v", rs)
	}
	want := "sli cpu: prometheus http://" + addr + ": unreachable: dial tcp " + addr + ": connect: connection refused"
	if got := rs[0].Err.Error(); got != want {
		t.Fatalf("err %q\nwant %q", got, want)
	}
	if e := q.Check(context.Background(), "cpu", time.Now()); e == nil || e.Fault != FaultServer {
		t.Fatalf("Check: %#v", e)
	}
}

func TestParseErrOffset(t *testing.T) {
	for _, tc := range []struct {
		msg, sent string
		off       int
		rest      string
		ok        bool
	}{
		{`invalid parameter "query": 1:15: parse error: unclosed left parenthesis`, "sum(rate(x[1s]", 14, "parse error: unclosed left parenthesis", true},
		{`1:1: parse error: unknown function with name "foo"`, "foo(x)", 0, `parse error: unknown function with name "foo"`, true},
		{`invalid parameter "query": 3:2: parse error: unexpected ")"`, "sum(\n rate(x[1s]) +\n )", 21, `parse error: unexpected ")"`, true},
		{`invalid parameter "query": 4:1: parse error: x`, "a\nb", 0, "", false},
		{`invalid parameter "query": 1:9: parse error: x`, "abc", 0, "", false},
		{`invalid parameter "query": 0:1: parse error: x`, "abc", 0, "", false},
		{"many-to-many matching not allowed", "a", 0, "", false},
	} {
		off, rest, ok := parseErrOffset(tc.msg, tc.sent)
		if ok != tc.ok || ok && (off != tc.off || rest != tc.rest) {
			t.Errorf("parseErrOffset(%q, %q) = %d, %q, %v; want %d, %q, %v", tc.msg, tc.sent, off, rest, ok, tc.off, tc.rest, tc.ok)
		}
	}
}

// FuzzParseErrOffset: no message or query panics the position parser or
// the map back through $RANGE, $START and $END, and every offset lands in
// the query.
func FuzzParseErrOffset(f *testing.F) {
	f.Add(`invalid parameter "query": 1:15: parse error: unclosed left parenthesis`, "sum(rate(x[$RANGE]")
	f.Add(`invalid parameter "query": 3:2: parse error: unexpected ")"`, "sum(\n rate(x[$RANGE]) @ $END +\n )")
	f.Add(`999999:9999999: parse error: x`, "$START$END$RANGE")
	f.Add(`1:1: parse error: `, "")
	f.Fuzz(func(t *testing.T, msg, query string) {
		start := time.Unix(1700000000, 0)
		sent, back := expand(query, Window{Start: start, End: start.Add(90 * time.Second)})
		off, _, ok := parseErrOffset(msg, sent)
		if !ok {
			return
		}
		if off < 0 || off > len(sent) {
			t.Fatalf("offset %d outside the query sent (%d bytes)", off, len(sent))
		}
		if b := back(off); b < 0 || b > len(query) {
			t.Fatalf("offset %d maps back to %d, outside the query (%d bytes)", off, b, len(query))
		}
	})
}
