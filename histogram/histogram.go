package histogram

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Geometry of every histogram, in microseconds.
const (
	lowestUS  = 1
	highestUS = int64(time.Hour / time.Microsecond)
	sigDigits = 3
)

// Max is the largest duration a Histogram distinguishes; larger values are
// recorded as Max and counted by Clamped.
const Max = time.Duration(highestUS) * time.Microsecond

// MaxEncodedLen caps the base64 text Decode accepts. A full histogram of this
// geometry compresses to well under 100 KiB; anything larger is hostile.
const MaxEncodedLen = 1 << 20

// ErrGeometry reports an encoded histogram whose range or precision differs
// from this package's, which could not be merged exactly.
var ErrGeometry = errors.New("histogram: foreign geometry (want 1µs..1h, 3 significant digits)")

// Histogram is an HDR histogram of durations. The zero value is not usable;
// call New.
//
// A Histogram is either writable (dense: about 190 KB of counts, recorded
// without allocation) or frozen (Freeze: a compact sparse copy of a few KB
// that can be read, encoded and merged into others, but never written).
// The engine records into writable ones and publishes frozen ones, so that
// snapshots kept by observers cost little memory.
type Histogram struct {
	h       *hdr.Histogram       // dense; nil when frozen
	p       *hdr.PackedHistogram // frozen; nil when writable
	clamped int64
}

// New returns an empty Histogram. It allocates about 190 KB of counts, so
// callers keep a bounded number of them, never one per request.
func New() *Histogram {
	return &Histogram{h: hdr.New(lowestUS, highestUS, sigDigits)}
}

// Record adds one duration. Negative durations count as 0 (they can only come
// from a clock bug), durations above Max are clamped. It never allocates.
func (h *Histogram) Record(d time.Duration) {
	h.writable()
	us := int64(d / time.Microsecond)
	if us < 0 {
		us = 0
	}
	if us > highestUS {
		us = highestUS
		h.clamped++
	}
	_ = h.h.RecordValue(us) // cannot fail: us is in range
}

// RecordN adds n occurrences of d.
func (h *Histogram) RecordN(d time.Duration, n int64) {
	h.writable()
	if n <= 0 {
		return
	}
	us := int64(d / time.Microsecond)
	if us < 0 {
		us = 0
	}
	if us > highestUS {
		us = highestUS
		h.clamped += n
	}
	_ = h.h.RecordValues(us, n)
}

// writable panics on a frozen histogram: writing one would change a
// snapshot that others may be reading.
func (h *Histogram) writable() {
	if h.h == nil {
		panic("histogram: write to a frozen histogram (use Thaw for a writable copy)")
	}
}

// Frozen reports whether h is a compact read-only copy.
func (h *Histogram) Frozen() bool { return h.h == nil }

// Freeze returns a compact, read-only copy of h (h itself if it is frozen
// already).
func (h *Histogram) Freeze() *Histogram {
	if h.h == nil {
		return h
	}
	p := hdr.NewPacked(lowestUS, highestUS, sigDigits)
	p.MergeFrom(h.h)
	p.Compact()
	return &Histogram{p: p, clamped: h.clamped}
}

// NewSparse returns an empty histogram in the frozen (sparse) form, for its
// owner to build a sum in with AddSparse without any dense counts. It reads
// like any frozen histogram; once published it must not be added to again.
func NewSparse() *Histogram {
	return &Histogram{p: hdr.NewPacked(lowestUS, highestUS, sigDigits)}
}

// AddSparse adds every value of o (writable or frozen) into h, a histogram
// from NewSparse that the caller owns and has not published. Merging two
// sparse forms is linear in their populated buckets.
func (h *Histogram) AddSparse(o *Histogram) {
	if h.h != nil {
		panic("histogram: AddSparse on a writable histogram (use Merge)")
	}
	if o == nil {
		return
	}
	if o.h == nil {
		h.p.Merge(o.p)
	} else {
		h.p.MergeFrom(o.h)
	}
	h.clamped += o.clamped
}

// Thaw returns a writable copy of h.
func (h *Histogram) Thaw() *Histogram {
	if h.h != nil {
		return h.Clone()
	}
	d := hdr.New(lowestUS, highestUS, sigDigits)
	h.p.MergeInto(d)
	return &Histogram{h: d, clamped: h.clamped}
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 {
	if h.h == nil {
		return h.p.TotalCount()
	}
	return h.h.TotalCount()
}

// Clamped is the number of values that were above Max.
func (h *Histogram) Clamped() int64 { return h.clamped }

// Quantile returns the value at quantile q in [0,1] (0.99 is p99). It returns
// 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	if math.IsNaN(q) || q < 0 {
		q = 0
	}
	if q > 1 {
		q = 1
	}
	if h.h == nil {
		return us(h.p.ValueAtPercentile(q * 100))
	}
	return us(h.h.ValueAtPercentile(q * 100))
}

// Min is the smallest recorded value (to the histogram's precision).
func (h *Histogram) Min() time.Duration {
	switch {
	case h.Count() == 0:
		return 0
	case h.h == nil:
		return us(h.p.Min())
	}
	return us(h.h.Min())
}

// Max is the largest recorded value (to the histogram's precision).
func (h *Histogram) Max() time.Duration {
	switch {
	case h.Count() == 0:
		return 0
	case h.h == nil:
		return us(h.p.Max())
	}
	return us(h.h.Max())
}

// Mean is the average of the recorded values (to the histogram's precision).
func (h *Histogram) Mean() time.Duration {
	switch {
	case h.Count() == 0:
		return 0
	case h.h == nil:
		return time.Duration(h.p.Mean() * float64(time.Microsecond))
	}
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Merge adds every value of o (writable or frozen) into h, which must be
// writable. Both have the same geometry, so the result equals the histogram
// of the union of their values.
func (h *Histogram) Merge(o *Histogram) {
	h.writable()
	if o == nil {
		return
	}
	if o.h == nil {
		o.p.MergeInto(h.h) // index to index: work per populated bucket
	} else {
		h.h.Merge(o.h)
	}
	h.clamped += o.clamped
}

// Clone returns an independent copy, frozen if h is.
func (h *Histogram) Clone() *Histogram {
	if h.h == nil {
		return &Histogram{p: h.p.Clone(), clamped: h.clamped}
	}
	return &Histogram{h: h.h.Clone(), clamped: h.clamped}
}

// Reset empties a writable h, keeping its memory.
func (h *Histogram) Reset() {
	h.writable()
	h.h.Reset()
	h.clamped = 0
}

// Equal reports whether h and o hold the same counts.
func (h *Histogram) Equal(o *Histogram) bool {
	return h.dense().Equals(o.dense())
}

// dense returns h's dense histogram, or a dense copy of a frozen one; for
// reading only.
func (h *Histogram) dense() *hdr.Histogram {
	if h.h != nil {
		return h.h
	}
	return h.Thaw().h
}

// Bracket is one point of a cumulative distribution.
type Bracket struct {
	Quantile float64       // in [0,1]
	Value    time.Duration // value at that quantile
	Count    int64         // values at or below Value
}

// Distribution returns the percentile spectrum with ticksPerHalf points per
// halving of the remaining tail, as HdrHistogram's percentile plots do.
func (h *Histogram) Distribution(ticksPerHalf int32) []Bracket {
	if h.Count() == 0 {
		return nil
	}
	src := h.dense().CumulativeDistributionWithTicks(ticksPerHalf)
	out := make([]Bracket, len(src))
	for i, b := range src {
		out[i] = Bracket{Quantile: b.Quantile / 100, Value: us(b.ValueAt), Count: b.Count}
	}
	return out
}

// Encode returns the histogram as base64 text of the HdrHistogram V2
// compressed format, readable by the Java, C and Go implementations.
func (h *Histogram) Encode() (string, error) {
	p := h.p
	if h.h != nil {
		p = h.Freeze().p
	}
	return encodeSparse(p), nil
}

// Decode parses text written by Encode. It rejects oversize input and any
// geometry other than this package's, so a decoded histogram merges exactly.
// Clamped counts are not part of the wire format and decode as 0.
func Decode(s string) (*Histogram, error) {
	if len(s) > MaxEncodedLen {
		return nil, fmt.Errorf("histogram: encoded text is %d bytes, limit %d", len(s), MaxEncodedLen)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("histogram: decode: %w", err)
	}
	// Check the geometry before the library sizes a counts array from it: a
	// hostile header could otherwise make it allocate tens of megabytes.
	if err := checkHeader(raw); err != nil {
		return nil, err
	}
	d, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("histogram: decode: %w", err)
	}
	if d.LowestTrackableValue() != lowestUS || d.HighestTrackableValue() < highestUS || d.SignificantFigures() != sigDigits {
		return nil, ErrGeometry
	}
	if d.HighestTrackableValue() != highestUS {
		// Same precision, wider range: re-record into our geometry so that
		// merges stay exact; values above our range are clamped.
		out := New()
		out.h.Merge(d)
		return out, nil
	}
	return &Histogram{h: d}, nil
}

// DecodeFrozen is Decode returning a frozen histogram, decoded straight
// into the sparse form with a pooled inflater: a few KB and no dense counts
// instead of Decode's 190 KB, for readers of many encoded histograms (a
// coordinator merging agents).
func DecodeFrozen(s string) (*Histogram, error) {
	if len(s) > MaxEncodedLen {
		return nil, fmt.Errorf("histogram: encoded text is %d bytes, limit %d", len(s), MaxEncodedLen)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("histogram: decode: %w", err)
	}
	p, err := decodeSparse(raw)
	if errors.Is(err, errForeign) {
		h, err := Decode(s) // another layout of the same precision
		if err != nil {
			return nil, err
		}
		return h.Freeze(), nil
	}
	if err != nil {
		return nil, err
	}
	return &Histogram{p: p}, nil
}

// checkHeader reads the V2 compressed header (8 bytes: cookie, length) and
// the first 40 inflated bytes (cookie, payload length, index offset, digits,
// lowest, highest, ratio) and accepts only this package's geometry, with a
// highest value of at most 1024 h.
func checkHeader(raw []byte) error {
	if len(raw) < 8 {
		return fmt.Errorf("histogram: decode: %d bytes, too short", len(raw))
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return fmt.Errorf("histogram: decode: %w", err)
	}
	defer z.Close()
	var hd [40]byte
	if _, err := io.ReadFull(z, hd[:]); err != nil {
		return fmt.Errorf("histogram: decode header: %w", err)
	}
	digits := int32(binary.BigEndian.Uint32(hd[12:]))
	lowest := int64(binary.BigEndian.Uint64(hd[16:]))
	highest := int64(binary.BigEndian.Uint64(hd[24:]))
	if digits != sigDigits || lowest != lowestUS || highest < highestUS || highest > 1024*highestUS {
		return ErrGeometry
	}
	return nil
}

func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
