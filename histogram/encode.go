package histogram

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// deflaters keeps what encoding needs for the next encoding: a zlib
// writer at the best level holds about 900 KB, and a report or a partial
// report encodes dozens of histograms at once; allocating one each time
// made the heap, and the process's RSS, jump every time a report was
// written. It is a free list, not a sync.Pool: a garbage collection
// empties a sync.Pool, and with a collection every few seconds a partial
// report every 10 s (or an agent's interval every second) found it empty
// and allocated anew: 5.4 MB in a 60 s run, a peak each time.
var deflaters struct {
	mu sync.Mutex
	// guarded by mu
	free []*deflater
}

// maxFreeDeflaters bounds the deflaters kept: as many as encodings ever
// ran at once, up to this.
const maxFreeDeflaters = 4

func getDeflater() *deflater {
	deflaters.mu.Lock()
	defer deflaters.mu.Unlock()
	if n := len(deflaters.free); n > 0 {
		d := deflaters.free[n-1]
		deflaters.free = deflaters.free[:n-1]
		return d
	}
	return &deflater{}
}

func putDeflater(d *deflater) {
	deflaters.mu.Lock()
	defer deflaters.mu.Unlock()
	if len(deflaters.free) < maxFreeDeflaters {
		deflaters.free = append(deflaters.free, d)
	}
}

type deflater struct {
	w       *zlib.Writer
	out     bytes.Buffer
	payload []byte
}

// encodeSparse writes p, of this package's geometry, in the V2 compressed
// format, byte for byte as the library's encoder does, with a pooled
// deflater.
func encodeSparse(p *hdr.PackedHistogram) string {
	d := getDeflater()
	defer putDeflater(d)
	// The 40-byte header, then the counts: zig-zag LEB128, runs of empty
	// slots as one negative number, nothing after the last count.
	b := binary.BigEndian.AppendUint32(d.payload[:0], cookieV2|0x10)
	b = binary.BigEndian.AppendUint32(b, 0) // payload length, set below
	b = binary.BigEndian.AppendUint32(b, 0) // normalizing index offset
	b = binary.BigEndian.AppendUint32(b, sigDigits)
	b = binary.BigEndian.AppendUint64(b, lowestUS)
	b = binary.BigEndian.AppendUint64(b, uint64(highestUS))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(1))
	next := 0
	for value, count := range p.ForEachBucket {
		if count == 0 {
			continue
		}
		i := indexOf(value)
		switch gap := i - next; {
		case gap == 1:
			b = appendZigzag(b, 0)
		case gap > 1:
			b = appendZigzag(b, -int64(gap))
		}
		b = appendZigzag(b, count)
		next = i + 1
	}
	if next == 0 {
		b = appendZigzag(b, 0) // an empty histogram: one empty slot, as the library writes
	}
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-40))
	d.payload = b

	d.out.Reset()
	d.out.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0}) // cookie and length, set below
	if d.w == nil {
		d.w, _ = zlib.NewWriterLevel(&d.out, zlib.BestCompression)
	} else {
		d.w.Reset(&d.out)
	}
	d.w.Write(b) // writes to a bytes.Buffer do not fail
	d.w.Close()
	raw := d.out.Bytes()
	binary.BigEndian.PutUint32(raw, cookieV2Compressed|0x10)
	binary.BigEndian.PutUint32(raw[4:], uint32(len(raw)-8))
	return base64.StdEncoding.EncodeToString(raw)
}

// indexOf is the count slot of value (the inverse of valueAt).
func indexOf(v int64) int {
	bucket := 64 - bits.LeadingZeros64(uint64(v)|(2*subHalfCount-1)) - (subHalfMagnitude + 1)
	sub := int(v >> bucket)
	return (bucket+1)<<subHalfMagnitude + sub - subHalfCount
}

func appendZigzag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for i := 0; i < 8; i++ {
		if u>>7 == 0 {
			return append(b, byte(u))
		}
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u)) // the 9th byte carries 8 bits
}
