package main

import (
	"os"
	"testing"

	"github.com/loadgate/loadgate/report/schema"
)

// validateReport checks a JSON report the binary wrote against the report's
// JSON Schema (report/schema). finish calls it on every run's report, so
// every report the CLI tests produce is validated.
func validateReport(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(b); err != nil {
		t.Errorf("%s does not validate against report/schema/report-v1.schema.json: %v", path, err)
	}
}
