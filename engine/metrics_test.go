package engine

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

func twoFlowPlan() *Plan {
	p := constPlan("http://127.0.0.1:1/a", 100, time.Second)
	p.Flows = []Flow{
		{Name: "browse", Weight: 3, Steps: []Step{
			{Name: "home", Method: "GET", URL: "http://127.0.0.1:1/"},
			{Name: "search", Method: "GET", URL: "http://127.0.0.1:1/s"},
		}},
		{Name: "buy", Weight: 1, Steps: []Step{
			{Name: "login", Method: "POST", URL: "http://127.0.0.1:1/l"},
			{Name: "search", Method: "GET", URL: "http://127.0.0.1:1/s"},
		}},
	}
	return p
}

// TestSelectionsReadLikeMerges: every selection, whether it reads the
// collector's pre-merged totals or individual steps, equals the merge of the
// steps it covers.
func TestSelectionsReadLikeMerges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := twoFlowPlan()
		res, err := fakeEngine(&sleepDoer{d: 5 * time.Millisecond}).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		tot := res.Final.Total
		steps := func(refs ...[2]int) *histogram.Histogram {
			h := histogram.New()
			for _, r := range refs {
				h.Merge(tot.Steps[r[0]][r[1]].Duration)
			}
			return h
		}
		for _, tc := range []struct {
			tags []Tag
			want *histogram.Histogram
			reqs int64
		}{
			{nil, steps([2]int{0, 0}, [2]int{0, 1}, [2]int{1, 0}, [2]int{1, 1}), 200},
			{[]Tag{{"flow", "browse"}}, steps([2]int{0, 0}, [2]int{0, 1}), 150},
			{[]Tag{{"step", "search"}}, steps([2]int{0, 1}, [2]int{1, 1}), 100},
			{[]Tag{{"flow", "buy"}, {"step", "search"}}, steps([2]int{1, 1}), 25},
			{[]Tag{{"method", "post"}}, steps([2]int{1, 0}), 25},
		} {
			sel, err := Select(p, "http_req_duration", tc.tags)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Read(tot); !got.Hist.Equal(tc.want) {
				t.Errorf("%s: histogram differs from the merge of its steps", sel.Key())
			}
			reqs, _ := Select(p, "http_reqs", tc.tags)
			if got := reqs.Read(tot).Count; got != tc.reqs {
				t.Errorf("%s: %d requests, want %d", reqs.Key(), got, tc.reqs)
			}
		}
	})
}

func TestSelectErrors(t *testing.T) {
	p := twoFlowPlan()
	for _, tc := range []struct {
		metric string
		tags   []Tag
		want   string
	}{
		{"http_req_durations", nil, `unknown metric "http_req_durations"`},
		{"http_req_duration", []Tag{{"flow", "nope"}}, `no flow named "nope"`},
		{"http_req_duration", []Tag{{"step", "nope"}}, `no step matches http_req_duration{step:nope}`},
		{"http_req_duration", []Tag{{"colour", "red"}}, `has no tag "colour" (it has flow, step, method, status)`},
		{"schedule_lag", []Tag{{"flow", "browse"}}, `metric schedule_lag has no tags`},
		{"http_req_failed", []Tag{{"status", "6xx"}}, `status tag "6xx"`},
	} {
		_, err := Select(p, tc.metric, tc.tags)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Select(%s, %v) = %v, want %q", tc.metric, tc.tags, err, tc.want)
		}
	}
}

// TestCheckTag: checks{check:NAME} reads one check of every step that has
// it; names repeat kinds with an ordinal; the whole-step figure still sums
// them all.
func TestCheckTag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := twoFlowPlan()
		p.Flows[0].Steps[1].Checks = []Check{
			{Kind: CheckStatus, Statuses: []int{200}},
			{Kind: CheckStatus, Statuses: []int{404}}, // never holds
		}
		p.Flows[1].Steps[0].Checks = []Check{{Kind: CheckMaxDuration, MaxDuration: time.Second}}
		if got := p.Flows[0].Steps[1].CheckNames(); got[0] != "status" || got[1] != "status#2" {
			t.Fatalf("check names %v", got)
		}
		res, err := fakeEngine(&sleepDoer{d: 5 * time.Millisecond}).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		tot := res.Final.Total
		for _, tc := range []struct {
			tags        []Tag
			hits, total int64
		}{
			{nil, 75 + 25, 150 + 25},
			{[]Tag{{"check", "status"}}, 75, 75},
			{[]Tag{{"check", "status#2"}}, 0, 75},
			{[]Tag{{"step", "login"}, {"check", "max_duration"}}, 25, 25},
			{[]Tag{{"flow", "browse"}}, 75, 150},
		} {
			sel, err := Select(p, "checks", tc.tags)
			if err != nil {
				t.Fatal(err)
			}
			if v := sel.Read(tot); v.Hits != tc.hits || v.Total != tc.total {
				t.Errorf("%s: %d of %d, want %d of %d", sel.Key(), v.Hits, v.Total, tc.hits, tc.total)
			}
		}
		if _, err := Select(p, "checks", []Tag{{"check", "header"}}); err == nil {
			t.Fatal("a check no step has was accepted")
		}
	})
}
