package report

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// readJSONSeeds are the saved runs the fuzzer starts from: the golden
// reports of this package (testdata/report, report/testdata), which cover
// every metric shape, thresholds, agents and a timeline.
var readJSONSeeds = []string{"../testdata/report/summary.json", "testdata/agents.json"}

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
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeJSON(bytes.NewReader(b))
		if err != nil {
			if s != nil {
				t.Fatalf("DecodeJSON returned a Summary with the error %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := WriteJSON(&out, s); err != nil {
			t.Fatalf("an accepted report cannot be written: %v", err)
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
