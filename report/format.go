package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
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
	return time.Duration(v * float64(time.Millisecond)).Round(time.Second).String()
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

// fmtValue formats a threshold's observed value or limit in its unit; unit
// "" is a share for rate metrics and a plain number otherwise.
func fmtValue(v float64, unit, key string) string {
	switch unit {
	case "ms":
		return fmtMS(v)
	case "/s":
		return fmtNum(v) + "/s"
	case "":
		name, _, _ := strings.Cut(key, "{")
		if m, ok := engine.LookupMetric(name); ok && m.Type == engine.Rate {
			return fmtShare(v)
		}
		return fmtNum(v)
	}
	return fmtNum(v) + " " + unit
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
	markPending // not evaluated yet (live only)
)

func (m mark) render(color bool) string {
	if !color {
		return [...]string{"PASS", "FAIL", "WARN", "SKIP", "WAIT"}[m]
	}
	return [...]string{ansiGreen + "✓", ansiRed + "✗", ansiYellow + "✗", ansiYellow + "-", ansiDim + "·"}[m] + ansiReset
}

// visible is what render shows on screen, without the color codes.
func (m mark) visible(color bool) string {
	if !color {
		return m.render(false)
	}
	return [...]string{"✓", "✗", "✗", "-", "·"}[m]
}

func markOf(passed, skipped bool, severity string) mark {
	switch {
	case skipped:
		return markSkip
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
