package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// MaxJSONSize caps the report files ReadJSON accepts. Real reports are a few
// MB at most (a few KB per histogram); a larger file is not one of ours.
const MaxJSONSize = 256 << 20

// WriteJSON writes s as indented JSON, metrics in report order.
func WriteJSON(w io.Writer, s *Summary) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	if err := e.Encode(s); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON. It accepts fields it does not
// know (later v1 versions may add some) but rejects another schema, unknown
// metric types and malformed times, so that commands reading old runs fail
// with a clear message instead of comparing zeros.
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
	// Read the schema first: decoding a foreign document as a Summary would
	// give confusing errors about its fields.
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("not a loadgate report: %w", err)
	}
	switch {
	case head.Schema == nil:
		return nil, errors.New("not a loadgate report: no schema field")
	case *head.Schema != Schema:
		return nil, fmt.Errorf("schema %q: this version reads %q", *head.Schema, Schema)
	}
	var s Summary
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
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
