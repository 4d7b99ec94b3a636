// Package schema holds the JSON Schema (draft 2020-12) of the report that
// package report writes (DESIGN §6, "loadgate.report/v1") and validates
// documents against it.
//
// The schema file, report-v1.schema.json, is the contract for scripts and
// other tools; it sits next to this file so that it can be read, linked and
// vendored as is. The CLI and report tests validate every report they write
// with Validate, so the schema and the writer cannot drift apart.
//
// Concurrency: Validate may be called from any goroutine; the schema is
// compiled once.
package schema

import (
	"bytes"
	_ "embed"
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

// Validate checks one JSON report against the schema. The error lists every
// violation with its location in the document.
func Validate(report []byte) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("schema: compile: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report))
	if err != nil {
		return fmt.Errorf("schema: not JSON: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}
