package scenarios

import (
	"os"
	"strings"
	"testing"
)

// TestReferenceListsEveryKey: docs/scenario-reference.md names every key
// the decoder accepts, so that the reference cannot fall behind the code.
func TestReferenceListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../docs/scenario-reference.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	sections := map[string][]string{
		"top level":   topKeys,
		"load":        loadKeys,
		"generator":   generatorKeys,
		"flows":       flowKeys,
		"steps":       stepKeys,
		"check":       checkKeys,
		"thresholds":  thresholdKeys,
		"sli":         append(append([]string{"prometheus"}, sliPromKeys...), sliQueryKeys...),
		"tls":         tlsKeys,
		"http":        httpKeys,
		"data":        {"name", "file", "order"},
		"defaults":    {"timeout", "headers", "cookies", "max_body", "max_redirects"},
		"ws":          wsKeys,
		"ws exchange": wsExchangeKeys,
		"ws expect":   wsExpectKeys,
		"ws message":  wsMessageKeys,
		"group":       groupKeys,
		"repeat":      repeatKeys,
		"grpc":        grpcSectionKeys,
		"grpc step":   grpcStepKeys,
	}
	for section, keys := range sections {
		for _, k := range keys {
			if !strings.Contains(doc, "`"+k+"`") && !strings.Contains(doc, "\n    "+k+":") && !strings.Contains(doc, "  "+k+":") {
				t.Errorf("docs/scenario-reference.md does not list %s key %q", section, k)
			}
		}
	}
}
