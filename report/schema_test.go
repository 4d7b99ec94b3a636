package report

import (
	"bytes"
	"testing"

	"github.com/loadgate/loadgate/report/schema"
)

// TestSchema: the reports Build and Merge make validate against the JSON
// Schema, from a full run to one that never started. (The golden files are
// validated in report/schema, the CLI's reports in cmd/loadgate.)
func TestSchema(t *testing.T) {
	var shards []*Summary
	for j := 0; j < 2; j++ {
		shards = append(shards, Build(shardRun(t, j, 2)))
	}
	merged, err := Merge(shards, MergeOptions{Tool: "loadgate"})
	if err != nil {
		t.Fatal(err)
	}
	merged.Summary.Status = "failed"
	merged.Summary.ExitCode = 1
	for _, tc := range []struct {
		name string
		sum  *Summary
	}{
		{"full run", Build(testRun(t))},
		{"never started", Build(Run{Tool: "loadgate", Status: "invalid", ExitCode: 2, Reasons: []string{"bad flag"}})},
		{"merged", merged.Summary},
		{"distributed, an agent lost", Build(agentsRun(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, tc.sum); err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(b.Bytes()); err != nil {
				t.Error(err)
			}
		})
	}
}
