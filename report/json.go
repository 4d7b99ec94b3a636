package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/loadgate/loadgate/report/schema"
)

// MaxJSONSize caps the report files ReadJSON accepts. Real reports are a few
// MB at most (a few KB per histogram); a larger file is not one of ours.
const MaxJSONSize = 256 << 20

// WriteJSON writes s as indented JSON, metrics in report order. The fields
// of a read report that this version does not know are written back, each
// after the known fields of its object (docs/reports.md).
func WriteJSON(w io.Writer, s *Summary) error {
	if len(s.extras) > 0 {
		return writeWithExtras(w, s)
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	if err := e.Encode(s); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON. It validates it against the
// report's JSON Schema (report/schema) and accepts fields it does not know
// (later v1 versions may add some; WriteJSON keeps them), but rejects
// another schema, unknown metric types, negative counts and malformed
// times, so that commands reading old or edited runs fail with a clear
// message instead of comparing zeros. Messages name the file, the place in
// it (a jq path, or a line and column for broken JSON) and what was
// expected; never a Go type.
func ReadJSON(path string) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	s, err := DecodeJSON(f)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return s, nil
}

// DecodeJSON reads one report from r, with the checks of ReadJSON.
func DecodeJSON(r io.Reader) (*Summary, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxJSONSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxJSONSize {
		return nil, fmt.Errorf("larger than %d MiB, not a loadgate report", MaxJSONSize>>20)
	}
	// Read the schema first: checking a foreign document against ours
	// would give confusing errors about its fields.
	if err := checkHead(b); err != nil {
		return nil, err
	}
	if err := schema.Validate(b); err != nil {
		return nil, fmt.Errorf("not a valid %s report: %w", Schema, err)
	}
	// What the schema cannot say: numbers beyond what the report's fields
	// hold (a count above 2^63-1, 1e400), and the fields to keep.
	var w walker
	w.walk(summaryType, b, nil)
	if len(w.problems) > 0 {
		return nil, fmt.Errorf("not a valid %s report: %w", Schema, &schema.Error{Problems: w.problems})
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, decodeError(err)
	}
	sortExtras(w.extras)
	s.extras = w.extras
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkHead checks that b is JSON, an object, with this version's schema.
func checkHead(b []byte) error {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(b, se.Offset)
			return fmt.Errorf("not a loadgate report: invalid JSON at line %d, column %d: %s", line, col, strings.TrimPrefix(se.Error(), "json: "))
		}
		return errors.New("not a loadgate report: invalid JSON (it ends too early)")
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); t[0] != '{' {
		return fmt.Errorf("not a loadgate report: want a JSON object, got %s", jsonKind(t[0]))
	}
	var head map[string]json.RawMessage
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("not a loadgate report: %w", decodeError(err))
	}
	raw, ok := head["schema"]
	if !ok {
		return errors.New("not a loadgate report: no schema field")
	}
	var name string
	if json.Unmarshal(raw, &name) != nil {
		return fmt.Errorf("not a loadgate report: .schema: want a string such as %q, got %s", Schema, jsonKind(bytes.TrimSpace(raw)[0]))
	}
	if name != Schema {
		return fmt.Errorf("schema %q: this version reads %q", name, Schema)
	}
	return nil
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	before := b[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// jsonKind names the JSON type of a value by its first byte.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// decodeError says what encoding/json could not decode without naming Go
// types (the schema and the walker catch everything first; this is the
// fallback).
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := "." + te.Field
		if te.Field == "" {
			path = "."
		}
		return fmt.Errorf("%s: want %s, got %s", path, goKindWord(te.Type), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(se.Error(), "json: "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "json: "))
}

// check validates what decoding alone does not.
func (s *Summary) check() error {
	for _, t := range []struct{ name, v string }{{"started_at", s.StartedAt}, {"ended_at", s.EndedAt}} {
		if t.v == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	for i, t := range s.Thresholds {
		if t.FirstFailedAt == nil {
			continue
		}
		if _, err := time.Parse(time.RFC3339, *t.FirstFailedAt); err != nil {
			return fmt.Errorf("thresholds[%d].first_failed_at: %w", i, err)
		}
	}
	// A document written by hand or by an older tool may miss lists; keep
	// the never-null promise for readers of a decoded Summary too.
	if s.Reasons == nil {
		s.Reasons = []string{}
	}
	if s.Warnings == nil {
		s.Warnings = []string{}
	}
	if s.Metrics == nil {
		s.Metrics = Metrics{}
	}
	if s.Thresholds == nil {
		s.Thresholds = []ThresholdResult{}
	}
	if s.Timeseries == nil {
		s.Timeseries = []Point{}
	}
	if s.Errors == nil {
		s.Errors = map[string]int64{}
	}
	if s.ErrorSamples == nil {
		s.ErrorSamples = map[string]string{}
	}
	// No agents is a single-host run, which WriteJSON writes without the
	// field: "agents": [] reads as absent, so that the report round-trips
	// (FuzzReadJSON).
	if len(s.Agents) == 0 {
		s.Agents = nil
	}
	return nil
}

// Started returns the parsed started_at (zero if absent).
func (s *Summary) Started() time.Time { t, _ := time.Parse(time.RFC3339, s.StartedAt); return t }

// Ended returns the parsed ended_at (zero if absent).
func (s *Summary) Ended() time.Time { t, _ := time.Parse(time.RFC3339, s.EndedAt); return t }
