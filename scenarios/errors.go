package scenarios

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a scenario file, at a 1-based line and column.
type Error struct {
	File      string
	Line, Col int
	Msg       string // what is wrong and what was expected
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a scenario file, sorted by position. Parse
// returns it instead of stopping at the first problem so that a user can fix
// the file in one go.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// maxErrors bounds the list so that a hostile or badly broken file (say, a
// thousand aliases) cannot make the report itself huge.
const maxErrors = 100

// errorList collects errors for one file.
type errorList struct {
	file string
	errs Errors
	more int // errors dropped past maxErrors
	// bad marks nodes whose value is already reported wrong (a failed
	// ${...}); further errors about them would only repeat the first.
	bad map[*yaml.Node]bool
}

// count is the number of errors so far, shown or not.
func (l *errorList) count() int { return len(l.errs) + l.more }

// at records an error at a line and column (clamped to 1 so that every error
// points somewhere a user can look).
func (l *errorList) at(line, col int, format string, args ...any) {
	if len(l.errs) >= maxErrors {
		l.more++
		return
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: max(line, 1), Col: max(col, 1), Msg: fmt.Sprintf(format, args...)})
}

// node records an error at the position of n, unless n is known bad.
func (l *errorList) node(n *yaml.Node, format string, args ...any) {
	if l.bad[n] {
		return
	}
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.at(line, col, format, args...)
}

// result returns the sorted errors, or nil when there are none.
func (l *errorList) result() error {
	if len(l.errs) == 0 {
		return nil
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := l.errs
	if l.more > 0 {
		last := out[len(out)-1]
		out = append(out, &Error{File: l.file, Line: last.Line, Col: last.Col,
			Msg: fmt.Sprintf("too many errors (%d more not shown)", l.more)})
	}
	return out
}

// suggest returns the candidate nearest to s by edit distance, or "" when
// none is close enough to be a plausible typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), c)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	// Half the length: "stages" → "steps" (3 of 6) reads as a slip, while
	// "foo" → "name" (4 of 3) is a different word.
	if bestD < 0 || bestD > max(1, len(s)/2) {
		return ""
	}
	return best
}

// levenshtein is the edit distance between a and b, in bytes (keys are
// ASCII).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
