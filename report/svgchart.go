package report

import (
	"math"
	"strconv"
	"strings"
)

// SVG charts for the HTML report, computed in Go so that the page needs no
// script: a chart is a fixed viewBox, a plot area, ticks and series whose
// paths are already in SVG coordinates. The template only places them.

// Chart geometry, in viewBox units. The HTML lays two charts side by side
// at 1280 px, so the viewBox is about their rendered size and text stays at
// its CSS size.
const (
	chartW      = 580
	chartH      = 260
	chartLeft   = 58 // room for y labels
	chartRight  = 24 // room for the last x label
	chartTop    = 14
	chartBottom = 34 // room for x labels
	// maxChartPoints bounds the points of a time series path: about one per
	// pixel of plot width. Longer series are merged (timeline merge keeps
	// peaks and exact counts).
	maxChartPoints = 520
)

// svgChart is one chart, ready for the template.
type svgChart struct {
	ID, Title, Note string
	W, H            float64
	X0, Y0, X1, Y1  float64 // plot area: X0 left, Y0 top, X1 right, Y1 bottom
	XTicks, YTicks  []svgTick
	XLabel, YLabel  string
	Series          []svgSeries
	Rules           []svgRule
	// Marks are labelled vertical lines (a capacity search's answer),
	// Markers points with a tooltip (its steps), drawn over the series.
	Marks   []svgMark
	Markers []svgMarker
	// Wide charts span the width of the page.
	Wide bool
	// Empty, when set, replaces the plot with this message.
	Empty string
}

// svgTick is an axis tick at Pos (x for the x axis, y for the y axis).
type svgTick struct {
	Pos   float64
	Label string
}

// svgSeries is one line; Area, when set, is a closed path to fill under it,
// Bars a path of error bars to stroke in the line's colour.
type svgSeries struct {
	Name, Class   string
	D, Area, Bars string
	Dashed        bool
}

// svgRule is a labelled horizontal line, such as a threshold's limit.
type svgRule struct {
	Y     float64
	Label string
}

// svgMark is a labelled vertical line at X; its label is at (TextX,
// TextY), anchored at Anchor (start or end).
type svgMark struct {
	X, TextX, TextY      float64
	Anchor, Label, Class string
}

// svgMarker is a point at (X, Y) with a tooltip.
type svgMarker struct {
	X, Y         float64
	Class, Title string
}

// axis maps data values to plot coordinates linearly.
type axis struct {
	min, max   float64 // data range
	from, to   float64 // plot coordinates
	ticks      []float64
	tickFormat func(float64) string
}

func (a axis) pos(v float64) float64 {
	if a.max == a.min {
		return a.from
	}
	return a.from + (v-a.min)/(a.max-a.min)*(a.to-a.from)
}

func (a axis) svgTicks() []svgTick {
	out := make([]svgTick, 0, len(a.ticks))
	for _, t := range a.ticks {
		out = append(out, svgTick{Pos: a.pos(t), Label: a.tickFormat(t)})
	}
	return out
}

// newChart returns an empty chart with the standard geometry.
func newChart(id, title string) *svgChart {
	return &svgChart{
		ID: id, Title: title, W: chartW, H: chartH,
		X0: chartLeft, Y0: chartTop, X1: chartW - chartRight, Y1: chartH - chartBottom,
	}
}

// xAxis returns a linear time axis over exactly [0, max] (a run of 20.05 s
// ends at the right edge) with nice ticks inside it; yAxis one over [0, a
// nice bound above max].
func (c *svgChart) xAxis(maxV float64, format func(float64) string) axis {
	_, all := niceTicks(maxV, 8)
	if !(maxV > 0) {
		maxV = all[len(all)-1]
	}
	ticks := all[:0:0]
	for _, t := range all {
		if t <= maxV*(1+1e-9) {
			ticks = append(ticks, t)
		}
	}
	return axis{min: 0, max: maxV, from: c.X0, to: c.X1, ticks: ticks, tickFormat: format}
}

func (c *svgChart) yAxis(maxV float64, format func(float64) string) axis {
	top, ticks := niceTicks(maxV, 5)
	return axis{min: 0, max: top, from: c.Y1, to: c.Y0, ticks: ticks, tickFormat: format}
}

// niceTicks returns a round upper bound >= maxV and the ticks from 0 to it,
// about n of them, spaced 1, 2 or 5 times a power of ten.
func niceTicks(maxV float64, n int) (top float64, ticks []float64) {
	if !(maxV > 0) || math.IsInf(maxV, 0) {
		maxV = 1
	}
	raw := maxV / float64(n)
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := pow * 10
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	top = math.Ceil(maxV/step-1e-9) * step
	for i := 0; ; i++ {
		v := float64(i) * step
		if v > top+step/2 {
			break
		}
		ticks = append(ticks, v)
	}
	return top, ticks
}

// pathOf draws the points (x[i], y[i]) as an SVG path, skipping NaN y
// values as gaps.
func pathOf(xs, ys []float64, ax, ay axis) string {
	var b strings.Builder
	pen := false
	for i := range xs {
		if math.IsNaN(ys[i]) {
			pen = false
			continue
		}
		if pen {
			b.WriteString(" L")
		} else {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('M')
			pen = true
		}
		b.WriteString(coord(ax.pos(xs[i])))
		b.WriteByte(',')
		b.WriteString(coord(ay.pos(ys[i])))
	}
	return b.String()
}

// areaOf closes a path down to the x axis, for a filled area. It assumes no
// gaps.
func areaOf(xs, ys []float64, ax, ay axis) string {
	if len(xs) == 0 {
		return ""
	}
	line := pathOf(xs, ys, ax, ay)
	base := coord(ay.pos(0))
	return line + " L" + coord(ax.pos(xs[len(xs)-1])) + "," + base + " L" + coord(ax.pos(xs[0])) + "," + base + " Z"
}

// bandOf is a closed path between two lines over the same xs (a confidence
// band): along his, then back along los.
func bandOf(xs, los, his []float64, ax, ay axis) string {
	if len(xs) == 0 {
		return ""
	}
	var b strings.Builder
	for i := range xs {
		if i == 0 {
			b.WriteByte('M')
		} else {
			b.WriteString(" L")
		}
		b.WriteString(coord(ax.pos(xs[i])) + "," + coord(ay.pos(his[i])))
	}
	for i := len(xs) - 1; i >= 0; i-- {
		b.WriteString(" L" + coord(ax.pos(xs[i])) + "," + coord(ay.pos(los[i])))
	}
	b.WriteString(" Z")
	return b.String()
}

// coord formats an SVG coordinate with one decimal: sub-pixel precision
// without bloating the file.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// chartPoints prepares a time series for plotting: a last row much
// shorter than the one before (the stub of an interval when the run ended)
// is left out, because its rates and quantiles rest on a sliver of time and
// would draw a spurious cliff; then rows are merged so that at most
// maxChartPoints remain.
func chartPoints(ps []Point) []Point {
	if n := len(ps); n >= 2 && ps[n-1].DT < ps[n-2].DT/2 {
		ps = ps[:n-1]
	}
	return downsample(ps)
}

// downsample merges adjacent points so that at most maxChartPoints remain.
func downsample(ps []Point) []Point {
	if len(ps) <= maxChartPoints {
		return ps
	}
	stride := (len(ps) + maxChartPoints - 1) / maxChartPoints
	out := make([]Point, 0, maxChartPoints)
	for i := 0; i < len(ps); i += stride {
		p := ps[i]
		for j := i + 1; j < i+stride && j < len(ps); j++ {
			p = merge(p, ps[j])
		}
		out = append(out, p)
	}
	return out
}

// Tick label formats.
func fmtAxisMS(v float64) string { return fmtMS(v) }
func fmtAxisSeconds(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmtMS(v * 1000)
}
func fmtAxisNum(v float64) string     { return trimFloat(v, 3) }
func fmtAxisPercent(v float64) string { return trimFloat(v, 3) + "%" }

// maxOf returns the largest value of fs over ps (0 for none).
func maxOf(ps []Point, fs ...func(Point) float64) float64 {
	m := 0.0
	for _, p := range ps {
		for _, f := range fs {
			if v := f(p); v > m && !math.IsInf(v, 0) {
				m = v
			}
		}
	}
	return m
}

// column returns f over ps.
func column(ps []Point, f func(Point) float64) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = f(p)
	}
	return out
}
