package main

import (
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// exitTableRow is a row of an exit-code table in Markdown: | 1 | `failed` | ...
var exitTableRow = regexp.MustCompile("(?m)^\\|\\s*(\\d+)\\s*\\|\\s*`([a-z_]+)`\\s*\\|")

// docExitCodes reads the first exit-code table after heading in a Markdown
// file.
func docExitCodes(t *testing.T, path, heading string) map[int]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, heading+"\n")
	if i < 0 {
		t.Fatalf("%s: no %q heading", path, heading)
	}
	s = s[i+len(heading):]
	if j := strings.Index(s, "\n#"); j >= 0 {
		s = s[:j] // this section only
	}
	got := map[int]string{}
	for _, m := range exitTableRow.FindAllStringSubmatch(s, -1) {
		code, _ := strconv.Atoi(m[1])
		if _, dup := got[code]; dup {
			t.Errorf("%s: code %d listed twice", path, code)
		}
		got[code] = m[2]
	}
	return got
}

// TestExitCodesDocumented compares the exit-code tables of the README and
// docs/exit-codes.md with the named constants (exit.go): every code, with
// its status, and nothing else.
func TestExitCodesDocumented(t *testing.T) {
	for _, doc := range []struct{ path, heading string }{
		{"../../README.md", "## Exit codes"},
		{"../../docs/exit-codes.md", "# Exit codes"},
	} {
		got := docExitCodes(t, doc.path, doc.heading)
		if !maps.Equal(got, statusOf) {
			t.Errorf("%s: the exit-code table says\n  %v\nexit.go says\n  %v", doc.path, got, statusOf)
		}
	}
	// The named constants are the ones the table is keyed by.
	for code, want := range map[int]int{0: exitPassed, 1: exitFailed, 2: exitInvalid, 3: exitPreflightFailed,
		4: exitInconclusive, 70: exitInternal, 74: exitIO, 130: exitInterrupted} {
		if code != want {
			t.Errorf("constant for %d is %d", code, want)
		}
	}
}
