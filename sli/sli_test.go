package sli

import (
	"context"
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

// fakeProm answers /api/v1/query with the body of the query's case.
func fakeProm(t *testing.T) *httptest.Server {
	answers := map[string]string{
		"one":    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.25"]}]}}`,
		"scalar": `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}`,
		"empty":  `{"status":"success","data":{"resultType":"vector","result":[]}}`,
		"two":    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`,
		"nan":    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		if q == "slow" {
			time.Sleep(2 * time.Second)
		}
		body, ok := answers[q]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			body = `{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected identifier"}`
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRead(t *testing.T) {
	srv := fakeProm(t)
	qs := []Query{{"one", "one"}, {"scalar", "scalar"}, {"empty", "empty"}, {"two", "two"}, {"nan", "nan"}, {"bad", "bad("}, {"slow", "slow"}}
	q, err := New(srv.URL, 300*time.Millisecond, qs)
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Start: time.Now().Add(-5 * time.Second), End: time.Now()}
	cases := []struct {
		name   string
		value  float64
		err    string // "" for a value
		noData bool
	}{
		{"one", 0.25, "", false},
		{"scalar", 3, "", false},
		{"empty", 0, "sli empty: query empty: no data: the query returned an empty result", true},
		{"two", 0, "returned 2 series; an SLI needs one number", false},
		{"nan", 0, "returned NaN", false},
		{"bad", 0, "query bad( failed: bad_data: 1:1: parse error", false},
		{"slow", 0, "query slow failed: timed out after 300ms", false},
		{"missing", 0, "sli missing: no such query", false},
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
		})
	}
}

// A Prometheus that is not there is a reading with the reason.
func TestReadClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	q, _ := New("http://"+addr, time.Second, []Query{{"cpu", "up"}})
	rs := q.ReadAll(context.Background(), []string{"cpu"}, Window{End: time.Now()}, 0)
	if len(rs) != 1 || rs[0].Err == nil || !strings.Contains(rs[0].Err.Error(), "connection refused") {
		t.Fatalf("readings %+v", rs)
	}
}
