package verdict

import (
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestPrecedence: the status of several causes is the documented winner
// (docs/exit-codes.md: internal > io > interrupted > failed > inconclusive
// > passed), and every reason is kept in order.
func TestPrecedence(t *testing.T) {
	for _, tc := range []struct {
		add  []Status
		want Status
	}{
		{nil, Passed},
		{[]Status{Passed}, Passed},
		{[]Status{Passed, Failed}, Failed},
		{[]Status{Inconclusive, Failed}, Failed},
		{[]Status{Inconclusive, Passed}, Inconclusive},
		{[]Status{Failed, Interrupted}, Interrupted},
		{[]Status{Interrupted, IOError}, IOError},
		{[]Status{IOError, Internal, Failed}, Internal},
		{[]Status{PreflightFailed, Invalid}, Invalid},
		{[]Status{Invalid, IOError}, IOError},
		{[]Status{PreflightFailed}, PreflightFailed},
	} {
		var c Causes
		var reasons []string
		for i, s := range tc.add {
			r := "reason " + strconv.Itoa(i)
			c.Add(s, r)
			reasons = append(reasons, r)
		}
		c.Add(Passed, "") // no reason, no change
		if got := c.Status(); got != tc.want {
			t.Errorf("%v: status %s, want %s", tc.add, got, tc.want)
		}
		if !slices.Equal(c.Reasons(), reasons) {
			t.Errorf("%v: reasons %q, want %q", tc.add, c.Reasons(), reasons)
		}
	}
}

// TestCodes: every status has its code and back; an unknown status is
// inconclusive's code, as a report that cannot be trusted.
func TestCodes(t *testing.T) {
	for s, code := range map[Status]int{Passed: 0, Failed: 1, Invalid: 2, PreflightFailed: 3, Inconclusive: 4, Internal: 70, IOError: 74, Interrupted: 130} {
		if s.Code() != code || !s.Known() {
			t.Errorf("%s: code %d (known %v), want %d", s, s.Code(), s.Known(), code)
		}
		if back, ok := Of(code); !ok || back != s {
			t.Errorf("Of(%d) = %s, %v", code, back, ok)
		}
	}
	if Status("later").Code() != 4 || Status("later").Known() {
		t.Error("an unknown status must be inconclusive's code and not known")
	}
	if _, ok := Of(5); ok {
		t.Error("Of(5) found a status")
	}
	if len(Precedence()) != 8 {
		t.Errorf("Precedence() = %v", Precedence())
	}
}

// exitTableRow is a row of an exit-code table in Markdown: | 1 | `failed` | ...
var exitTableRow = regexp.MustCompile("(?m)^\\|\\s*(\\d+)\\s*\\|\\s*`([a-z_]+)`\\s*\\|")

// docExitCodes reads the first exit-code table after heading in a Markdown
// file.
func docExitCodes(t *testing.T, path, heading string) map[int]Status {
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
	got := map[int]Status{}
	for _, m := range exitTableRow.FindAllStringSubmatch(s, -1) {
		code, _ := strconv.Atoi(m[1])
		if _, dup := got[code]; dup {
			t.Errorf("%s: code %d listed twice", path, code)
		}
		got[code] = Status(m[2])
	}
	return got
}

// codes is the table as code -> status.
func codes() map[int]Status {
	out := map[int]Status{}
	for _, s := range Precedence() {
		out[s.Code()] = s
	}
	return out
}

// TestExitCodesDocumented compares the exit-code tables of the README and
// docs/exit-codes.md with the table (verdict.go): every code, with its
// status, and nothing else.
func TestExitCodesDocumented(t *testing.T) {
	for _, doc := range []struct{ path, heading string }{
		{"../README.md", "## Exit codes"},
		{"../docs/exit-codes.md", "# Exit codes"},
	} {
		got := docExitCodes(t, doc.path, doc.heading)
		if !maps.Equal(got, codes()) {
			t.Errorf("%s: the exit-code table says\n  %v\nverdict.go says\n  %v", doc.path, got, codes())
		}
	}
}

// TestSchemaStatuses: the report schema's status enum and its status ->
// exit_code pairs are the table's.
func TestSchemaStatuses(t *testing.T) {
	b, err := os.ReadFile("../report/schema/report-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Properties struct {
			Status struct {
				Enum []Status `json:"enum"`
			} `json:"status"`
		} `json:"properties"`
		AllOf []struct {
			If struct {
				Properties struct {
					Status struct {
						Const Status `json:"const"`
					} `json:"status"`
				} `json:"properties"`
			} `json:"if"`
			Then struct {
				Properties struct {
					ExitCode struct {
						Const *int `json:"const"`
					} `json:"exit_code"`
				} `json:"properties"`
			} `json:"then"`
		} `json:"allOf"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(slices.Values(doc.Properties.Status.Enum)), slices.Sorted(slices.Values(Precedence())); !slices.Equal(got, want) {
		t.Errorf("schema statuses %v, table %v", got, want)
	}
	pairs := map[int]Status{}
	for _, c := range doc.AllOf {
		if s := c.If.Properties.Status.Const; s != "" && c.Then.Properties.ExitCode.Const != nil {
			pairs[*c.Then.Properties.ExitCode.Const] = s
		}
	}
	if !maps.Equal(pairs, codes()) {
		t.Errorf("schema status/exit_code pairs %v, table %v", pairs, codes())
	}
}
