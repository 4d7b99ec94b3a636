package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/report/schema"
)

// readJSONSeeds are the saved runs the fuzzer starts from: the golden
// reports of this package (testdata/), which cover
// every metric shape, thresholds, agents and a timeline.
var readJSONSeeds = []string{"testdata/summary.json", "testdata/agents.json"}

// hostileReports are inputs a user's file may hold: truncated, wrong types,
// numbers out of range, negative counts, deep nesting.
var hostileReports = []string{
	``,
	`null`,
	`{}`,
	`[]`,
	`{"schema":"loadgate.report/v1"}`,
	`{"schema":"loadgate.report/v1","metrics":null,"reasons":null,"errors":null}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":null}}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":"trend","count":-5,"hdr":"HISTFAAAAA=="}}}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":"trend","rate":0.5,"hits":3,"total":-1}}}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":"rate","unit":"ms","count":7,"hdr":"x"}}}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":"counter","count":1e400}}}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":"counter","count":9223372036854775808}}}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":7}}}`,
	`{"schema":"loadgate.report/v1","metrics":[1,2]}`,
	`{"schema":"loadgate.report/v1","exit_code":-1,"duration_s":-1e308,"errors":{"reset":-3}}`,
	`{"schema":"loadgate.report/v1","generator":{"planned":-1,"started":-9223372036854775808,"achieved_ratio":null}}`,
	`{"schema":"loadgate.report/v1","timeseries":[{"t":-1,"dt":0,"reqs":-4}],"agents":[{"planned":-1,"intervals":-2}]}`,
	`{"schema":"loadgate.report/v1","thresholds":[{"first_failed_at":"yesterday"}]}`,
	`{"schema":"loadgate.report/v1","thresholds":[{"first_failed_at":"2026-11-22T10:00:00Z","observed":1e308}]}`,
	`{"schema":"loadgate.report/v1","started_at":"2026-11-22T10:00:00+25:00"}`,
	`{"schema":"loadgate.report/v1","plan":{"stages":[{"duration_s":-1}],"segment":{"index":5,"count":0}}}`,
	`{"schema":"loadgate.report/v1","status":"\u0000\ud800","scenario":{"name":"\xff\xfe"}}`,
	`{"schema":"loadgate.report/v1","schema":"loadgate.report/v2"}`,
	`{"schema":["loadgate.report/v1"]}`,
	`{"schema":"loadgate.report/v1","reasons":"not a list"}`,
	`{"schema":"loadgate.report/v1","metrics":{"a":{"type":"trend"}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":"counter","count":5.0,"rate":1}}}`,
	`{"schema":"loadgate.report/v1","metrics":{"x":{"type":"counter","count":1,"rate":1e400}}}`,
	`{"schema":"loadgate.report/v1","reasons":[1,{"a":[]}],"warnings":{"a":"b"}}`,
	`{"schema":"loadgate.report/v1","plan":{"flows":[{"name":1,"steps":"s"}]},"zz":{"a":[1,2]}}`,
	`{"schema":"loadgate.report/v1","run_id":"","metrics":{"x":{"type":"trend","future":true}}}`,
	strings.Repeat(`[`, 20000),
	`{"schema":"loadgate.report/v1","x":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`,
}

// FuzzReadJSON: DecodeJSON (what ReadJSON does after opening the file: the
// reader of `loadgate report`, `compare`, `merge` and `--baseline`) never
// panics, and a report it accepts round-trips: written with WriteJSON and
// read back it is the same Summary (doc.go: every format can be re-rendered
// from a saved run, see docs/reports.md), and the writers `loadgate report`
// renders it with do not panic on it either. The seeds also run in
// `make test` (docs/reliability.md, "Test hygiene").
func FuzzReadJSON(f *testing.F) {
	for _, p := range readJSONSeeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		// The same run cut short, as a crashed writer would leave it
		// (WriteFileAtomic prevents it; a copy over the network may not).
		f.Add(b[:len(b)/2])
	}
	for _, s := range hostileReports {
		f.Add([]byte(s))
	}
	// A later v1 writer's report: fields this version does not know, at
	// the top, in a metric, a threshold, the plan and an agent.
	for _, p := range readJSONSeeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(withFutureFields(f, b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeJSON(bytes.NewReader(b))
		if err != nil {
			if s != nil {
				t.Fatalf("DecodeJSON returned a Summary with the error %v", err)
			}
			// Messages say the place and the JSON expected, never Go's
			// types (docs/reports.md).
			if m := goTypeWords.FindString(err.Error()); m != "" {
				t.Fatalf("the error names a Go type (%q): %v", m, err)
			}
			return
		}
		var out bytes.Buffer
		if err := WriteJSON(&out, s); err != nil {
			t.Fatalf("an accepted report cannot be written: %v", err)
		}
		// What is written is a valid report, with every field of the
		// input that this version does not know.
		if err := schema.Validate(out.Bytes()); err != nil {
			t.Fatalf("an accepted report is written invalid: %v\n%s", err, out.Bytes())
		}
		if err := sameUnknownFields(b, out.Bytes()); err != nil {
			t.Fatalf("%v\n%s", err, out.Bytes())
		}
		back, err := DecodeJSON(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("a written report cannot be read back: %v\n%s", err, out.Bytes())
		}
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("read → write → read changed the Summary:\n%#v\n%#v", s, back)
		}
		var again bytes.Buffer
		if err := WriteJSON(&again, back); err != nil || !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatalf("writing the read-back report changed its bytes (%v):\n%s\n%s", err, out.Bytes(), again.Bytes())
		}
		// What `loadgate report` does next with the Summary.
		if err := WriteText(io.Discard, s, true); err != nil {
			t.Fatalf("WriteText: %v", err)
		}
		if err := WriteJUnit(io.Discard, s); err != nil {
			t.Fatalf("WriteJUnit: %v", err)
		}
		if err := WriteHTML(io.Discard, s); err != nil {
			t.Fatalf("WriteHTML: %v", err)
		}
	})
}

// goTypeWords are what encoding/json's messages say of Go types.
var goTypeWords = regexp.MustCompile(`Go (value|struct)|of type|\bstruct \{|\b(u?int(8|16|32|64)?|float(32|64)|map\[|\[\]string)\b|json: `)

// withFutureFields adds fields no version knows to the report b: at the
// top, in its first metric (by key), threshold, agent and time-series row,
// and in the plan.
func withFutureFields(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	future := map[string]any{"since": "v1.9", "n": []any{1.5, "x", nil}}
	m["zz_future"] = future
	ms := m["metrics"].(map[string]any)
	if keys := slices.Sorted(maps.Keys(ms)); len(keys) > 0 {
		ms[keys[0]].(map[string]any)["zz_future"] = 7
	}
	for _, key := range []string{"thresholds", "agents", "timeseries"} {
		if l, ok := m[key].([]any); ok && len(l) > 0 {
			l[0].(map[string]any)["zz_future"] = future
		}
	}
	if p, ok := m["plan"].(map[string]any); ok {
		p["zz_future"] = true
	}
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// sameUnknownFields checks that every object member of in that a Summary
// has no field for is in out, with the same value, at the same place.
func sameUnknownFields(in, out []byte) error {
	var w1, w2 walker
	w1.walk(summaryType, in, nil)
	w2.walk(summaryType, out, nil)
	sortExtras(w1.extras)
	sortExtras(w2.extras)
	// An extra in an object the writer leaves out ("agents": [] reads as
	// absent) cannot be written back.
	var kept []extra
	root := parseNode(out)
	for _, x := range w1.extras {
		if root.at(x.path) != nil {
			kept = append(kept, x)
		}
	}
	if !reflect.DeepEqual(kept, w2.extras) && !(len(kept) == 0 && len(w2.extras) == 0) {
		return fmt.Errorf("unknown fields not written back: read %v, wrote %v", kept, w2.extras)
	}
	return nil
}
