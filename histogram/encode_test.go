package histogram

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TestEncodeAsTheLibrary: the pooled encoder writes exactly the bytes of
// the library's V2 encoder, for empty, single, spread, clamped and huge
// counts (9-byte varints).
func TestEncodeAsTheLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := map[string]func(h *Histogram){
		"empty":  func(h *Histogram) {},
		"zero":   func(h *Histogram) { h.Record(0) },
		"single": func(h *Histogram) { h.Record(3 * time.Millisecond) },
		"spread": func(h *Histogram) {
			for range 20000 {
				h.Record(time.Duration(rng.ExpFloat64() * rng.ExpFloat64() * float64(30*time.Millisecond)))
			}
		},
		"edges": func(h *Histogram) { h.Record(time.Microsecond); h.Record(Max); h.Record(2 * time.Hour) },
		"huge":  func(h *Histogram) { h.RecordN(time.Millisecond, 1<<60); h.RecordN(time.Second, 1<<40) },
		"dense1": func(h *Histogram) {
			for i := range 5000 {
				h.Record(time.Duration(i) * time.Microsecond)
			}
		},
	}
	for name, fill := range cases {
		h := New()
		fill(h)
		want, err := h.h.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range []*Histogram{h, h.Freeze()} {
			got, err := form.Encode()
			if err != nil || got != string(want) {
				t.Errorf("%s (frozen %v): %d bytes, want the library's %d (err %v)", name, form.Frozen(), len(got), len(want), err)
			}
		}
	}
}

// TestEncodeKeepsItsDeflater: an encoding after garbage collections does
// not allocate a deflater again (a sync.Pool would have been emptied).
func TestEncodeKeepsItsDeflater(t *testing.T) {
	h := New()
	h.Record(time.Millisecond)
	f := h.Freeze()
	if _, err := f.Encode(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if _, err := f.Encode(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	if got := m1.TotalAlloc - m0.TotalAlloc; got > 64<<10 {
		t.Fatalf("an encoding after two collections allocated %d KB: a new deflater", got>>10)
	}
}

// BenchmarkEncode: encoding allocates only its text (the deflater is
// kept).
func BenchmarkEncode(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	h := New()
	for range 10000 {
		h.Record(time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond)))
	}
	f := h.Freeze()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
