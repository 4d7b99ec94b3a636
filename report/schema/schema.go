// Package schema holds the JSON Schema (draft 2020-12) of the report that
// package report writes (docs/reports.md, "loadgate.report/v1") and validates
// documents against it: the reports the CLI writes, in tests, and the ones
// it reads (report.DecodeJSON, for report, compare, merge and --baseline).
//
// The schema file, report-v1.schema.json, is the contract for scripts and
// other tools; it sits next to this file so that it can be read, linked and
// vendored as is. The CLI and report tests validate every report they write
// with Validate, so the schema and the writer cannot drift apart; the
// reader validates every report it reads, so that a hand-edited count of -5
// is refused with its path rather than summed (docs/reports.md).
//
// Concurrency: Validate may be called from any goroutine; the schema is
// compiled once.
package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSON is the schema document, report-v1.schema.json.
//
//go:embed report-v1.schema.json
var JSON []byte

// URL is the schema's $id.
const URL = "https://github.com/loadgate/loadgate/report/schema/report-v1.schema.json"

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // date-time is checked, not only annotated
	if err := c.AddResource(URL, doc); err != nil {
		return nil, err
	}
	return c.Compile(URL)
})

// Validate checks one JSON report against the schema. A document that
// breaks it gets an *Error, which lists every violation with its jq path
// and what was expected there.
func Validate(report []byte) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("schema: compile: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report))
	if err != nil {
		return fmt.Errorf("schema: not JSON: %w", err)
	}
	err = sch.Validate(doc)
	var ve *jsonschema.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		if ps := problems(doc, ve); len(ps) > 0 {
			return &Error{Problems: ps}
		}
	}
	return fmt.Errorf("schema: %w", err)
}
