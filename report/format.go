package report

import (
	"strconv"
	"strings"
	"time"
)

// fmtMS formats a duration in ms the way k6 does: 512µs, 1.2ms, 130.1ms,
// 1.25s, 1m30s.
func fmtMS(v float64) string {
	switch {
	case v == 0:
		return "0s"
	case v < 1:
		return strconv.FormatFloat(v*1000, 'f', 0, 64) + "µs"
	case v < 1000:
		return trimFloat(v, 2) + "ms"
	case v < 60000:
		return trimFloat(v/1000, 2) + "s"
	}
	return fmtLong(time.Duration(v * float64(time.Millisecond)).Round(time.Second))
}

// fmtLong writes a duration of a minute or more as Go does, without its
// zero tails: 1m30s, 2m (not 2m0s), 1h5m (not 1h5m0s).
func fmtLong(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtBytes formats a byte count with SI units as k6 does: 512 B, 1.3 MB.
func fmtBytes(v float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	return trimFloat(v, 1) + " " + units[i]
}

// fmtShare formats a share in [0,1] as a percent with two decimals.
func fmtShare(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }

// fmtNum formats a count or rate without trailing zeros.
func fmtNum(v float64) string { return trimFloat(v, 3) }

// trimFloat formats v with at most digits decimals and no trailing zeros.
func trimFloat(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// ANSI colors for the console. Only markers and the status are colored, so
// that a copy-pasted summary stays readable without them.
const (
	ansiGreen  = "\x1b[32m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
	ansiReset  = "\x1b[0m"
)

// mark is a threshold's state as a marker: ✓/✗ in color, words without.
type mark uint8

const (
	markPass mark = iota
	markFail
	markWarn // a failed threshold of severity warn
	markSkip
	markPending   // not evaluated yet (live only)
	markUndecided // its confidence interval straddles the limit
)

func (m mark) render(color bool) string {
	if !color {
		return [...]string{"PASS", "FAIL", "WARN", "SKIP", "WAIT", "UNSURE"}[m]
	}
	return [...]string{ansiGreen + "✓", ansiRed + "✗", ansiYellow + "✗", ansiYellow + "-", ansiDim + "·", ansiYellow + "?"}[m] + ansiReset
}

// visible is what render shows on screen, without the color codes.
func (m mark) visible(color bool) string {
	if !color {
		return m.render(false)
	}
	return [...]string{"✓", "✗", "✗", "-", "·", "?"}[m]
}

func markOf(passed, skipped, undecided bool, severity string) mark {
	switch {
	case skipped:
		return markSkip
	case undecided:
		return markUndecided
	case passed:
		return markPass
	case severity == "warn":
		return markWarn
	}
	return markFail
}

// pad right-pads s with spaces to width runes.
func pad(s string, width int) string {
	n := width - len([]rune(s))
	if n <= 0 {
		return s
	}
	return s + strings.Repeat(" ", n)
}

// dots right-pads s with dots to width runes, as k6's summary does.
func dots(s string, width int) string {
	n := width - len([]rune(s))
	if n <= 0 {
		return s
	}
	return s + strings.Repeat(".", n)
}
