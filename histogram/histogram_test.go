package histogram

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

func TestQuantiles(t *testing.T) {
	h := New()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Millisecond},
		{0.5, 500 * time.Millisecond},
		{0.9, 900 * time.Millisecond},
		{0.99, 990 * time.Millisecond},
		{1, 1000 * time.Millisecond},
		{1.5, 1000 * time.Millisecond}, // clamped to 1
		{-1, time.Millisecond},         // clamped to 0
	} {
		got := h.Quantile(tc.q)
		if d := got - tc.want; d < -tc.want/500 || d > tc.want/500 {
			t.Errorf("Quantile(%v) = %v, want %v within 3 digits", tc.q, got, tc.want)
		}
	}
	if h.Count() != 1000 {
		t.Fatalf("count %d", h.Count())
	}
	if m := h.Mean(); m < 499*time.Millisecond || m > 502*time.Millisecond {
		t.Fatalf("mean %v", m)
	}
}

func TestEmpty(t *testing.T) {
	h := New()
	if h.Quantile(0.99) != 0 || h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 || h.Distribution(5) != nil {
		t.Fatal("empty histogram must read as zero")
	}
}

func TestClampAndNegative(t *testing.T) {
	h := New()
	h.Record(2 * time.Hour)
	h.Record(-time.Second)
	h.RecordN(3*time.Hour, 2)
	if h.Clamped() != 3 || h.Count() != 4 {
		t.Fatalf("clamped %d count %d", h.Clamped(), h.Count())
	}
	if h.Max() < Max-Max/500 || h.Min() != 0 {
		t.Fatalf("max %v min %v", h.Max(), h.Min())
	}
}

// TestMergeEqualsUnion: merging histograms gives exactly the histogram of
// the union of their values, which is what makes distributed runs exact.
func TestMergeEqualsUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	union := New()
	parts := []*Histogram{New(), New(), New()}
	for i := 0; i < 30000; i++ {
		d := time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
		parts[i%3].Record(d)
		union.Record(d)
	}
	merged := New()
	for _, p := range parts {
		merged.Merge(p)
	}
	if !merged.Equal(union) {
		t.Fatal("merge differs from the union")
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		if merged.Quantile(q) != union.Quantile(q) {
			t.Fatalf("q%v: %v vs %v", q, merged.Quantile(q), union.Quantile(q))
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	h := New()
	for i := 0; i < 5000; i++ {
		h.Record(time.Duration(i*i) * time.Microsecond)
	}
	s, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "HISTF") {
		t.Fatalf("not a V2 compressed encoding: %.10s", s)
	}
	d, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Equal(h) || d.Quantile(0.99) != h.Quantile(0.99) {
		t.Fatal("round trip changed the histogram")
	}
}

func TestDecodeRejects(t *testing.T) {
	// A histogram of another geometry (1..1000 µs, 2 digits) from the
	// underlying library's encoder, to check the geometry guard.
	other := foreignEncoding(t)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"not base64", "!!!", "decode"},
		{"too short", "AAAA", "too short"},
		{"oversize", strings.Repeat("A", MaxEncodedLen+4), "limit"},
		{"foreign geometry", other, "geometry"},
		{"garbage zlib", "HISTFAAAAAB4nAAAAAAAAAAA", "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDistribution(t *testing.T) {
	h := New()
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	d := h.Distribution(5)
	if len(d) < 10 || d[len(d)-1].Quantile != 1 || d[len(d)-1].Count != 100 {
		t.Fatalf("distribution %v", d)
	}
}

// TestRecordDoesNotAllocate: the hot path records without allocating.
func TestRecordDoesNotAllocate(t *testing.T) {
	h := New()
	if n := testing.AllocsPerRun(1000, func() { h.Record(1234 * time.Microsecond) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	h := New()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xffff) * time.Microsecond)
	}
}

func BenchmarkMerge(b *testing.B) {
	src := New()
	for i := 0; i < 10000; i++ {
		src.Record(time.Duration(i) * time.Microsecond)
	}
	dst := New()
	b.ReportAllocs()
	for b.Loop() {
		dst.Merge(src)
	}
}

func FuzzDecode(f *testing.F) {
	h := New()
	h.Record(time.Millisecond)
	s, _ := h.Encode()
	f.Add(s)
	f.Add("")
	f.Add("HISTFAAAAAB4nAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Decode(s)
		if err != nil {
			return
		}
		// Anything accepted is usable and re-encodes.
		_ = d.Quantile(0.99)
		if _, err := d.Encode(); err != nil {
			t.Fatalf("decoded histogram does not encode: %v", err)
		}
		// The sparse decoder accepts the same and holds the same counts.
		f, err := DecodeFrozen(s)
		if err != nil {
			t.Fatalf("Decode accepts what DecodeFrozen refuses: %v", err)
		}
		if !f.Frozen() || !f.Equal(d) {
			t.Fatalf("DecodeFrozen differs from Decode: count %d vs %d", f.Count(), d.Count())
		}
	})
}

// TestDecodeFrozen: the sparse decoder round-trips exactly and refuses a
// foreign geometry like Decode.
func TestDecodeFrozen(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	h := New()
	for range 5000 {
		h.Record(time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond)))
	}
	s, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeFrozen(s)
	if err != nil || !f.Frozen() || !f.Equal(h) {
		t.Fatalf("err %v; frozen %v; equal %v", err, f != nil && f.Frozen(), f != nil && f.Equal(h))
	}
	other := hdr.New(1, 3_600_000_000, 2)
	other.RecordValue(1000)
	b, _ := other.Encode(hdr.V2CompressedEncodingCookieBase)
	if _, err := DecodeFrozen(string(b)); !errors.Is(err, ErrGeometry) {
		t.Fatalf("foreign geometry: err %v", err)
	}
}

// TestFreeze: a frozen copy reads, encodes and merges exactly as the
// writable original, is much smaller, and refuses writes.
func TestFreeze(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := New()
	for i := 0; i < 20000; i++ {
		h.Record(time.Duration(rng.ExpFloat64() * float64(5*time.Millisecond)))
	}
	h.Record(2 * time.Hour) // clamped
	f := h.Freeze()
	if !f.Frozen() || h.Frozen() {
		t.Fatal("Frozen() wrong")
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		if f.Quantile(q) != h.Quantile(q) {
			t.Fatalf("q%v: frozen %v, writable %v", q, f.Quantile(q), h.Quantile(q))
		}
	}
	if f.Count() != h.Count() || f.Min() != h.Min() || f.Max() != h.Max() || f.Mean() != h.Mean() || f.Clamped() != 1 {
		t.Fatal("frozen aggregates differ")
	}
	if !f.Equal(h) || !f.Thaw().Equal(h) || !f.Clone().Equal(h) {
		t.Fatal("frozen copy differs")
	}
	fs, _ := f.Encode()
	d, err := Decode(fs)
	if err != nil || !d.Equal(h) {
		t.Fatalf("frozen encoding does not decode to the original: %v", err)
	}
	m := New()
	m.Merge(f)
	m.Merge(h)
	if m.Count() != 2*h.Count() || m.Quantile(0.99) != h.Quantile(0.99) {
		t.Fatal("merging a frozen histogram differs")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Record on a frozen histogram did not panic")
		}
	}()
	f.Record(time.Millisecond)
}
