package histogram

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The layout of this package's geometry (1 µs..1 h, 3 significant digits)
// as HdrHistogram indexes it: 2048 sub-buckets (the top half repeated per
// power of two) and unit magnitude 0.
const (
	subHalfMagnitude = 10
	subHalfCount     = 1 << subHalfMagnitude
)

// countsLen is the number of count slots of this geometry.
var countsLen = func() int {
	buckets := 1
	for untrackable := int64(2 * subHalfCount); untrackable <= highestUS; untrackable <<= 1 {
		buckets++
	}
	return (buckets + 1) * subHalfCount
}()

// V2 cookies, as written by every implementation.
const (
	cookieV2           = 0x1c849303
	cookieV2Compressed = 0x1c849304
)

// inflaters pools zlib readers and payload buffers: each reader holds a
// 32 KB window, and a coordinator decodes thousands of histograms a second.
var inflaters sync.Pool

type inflater struct {
	z   io.ReadCloser
	buf []byte
}

var errForeign = errors.New("not this package's exact layout")

// decodeSparse decodes the V2 compressed bytes raw (base64 already
// removed) of this package's exact geometry straight into a sparse
// histogram, with one pooled inflater and no dense counts. It returns
// errForeign for valid-looking data of another layout (a wider range, a
// normalizing offset), which the caller decodes the general way.
func decodeSparse(raw []byte) (*hdr.PackedHistogram, error) {
	if len(raw) < 8 || binary.BigEndian.Uint32(raw)&^0xf0 != cookieV2Compressed {
		return nil, errForeign
	}
	clen := binary.BigEndian.Uint32(raw[4:])
	if uint64(clen) > uint64(len(raw)-8) {
		return nil, fmt.Errorf("histogram: decode: %d compressed bytes announced, %d present", clen, len(raw)-8)
	}
	in, _ := inflaters.Get().(*inflater)
	if in == nil {
		in = &inflater{}
	}
	defer inflaters.Put(in)
	if err := in.reset(raw[8 : 8+clen]); err != nil {
		return nil, fmt.Errorf("histogram: decode: %w", err)
	}
	var head [40]byte
	if _, err := io.ReadFull(in.z, head[:]); err != nil {
		return nil, fmt.Errorf("histogram: decode header: %w", err)
	}
	payloadLen := int64(int32(binary.BigEndian.Uint32(head[4:])))
	offset := int32(binary.BigEndian.Uint32(head[8:]))
	digits := int32(binary.BigEndian.Uint32(head[12:]))
	lowest := int64(binary.BigEndian.Uint64(head[16:]))
	highest := int64(binary.BigEndian.Uint64(head[24:]))
	if binary.BigEndian.Uint32(head[:])&^0xf0 != cookieV2 || digits != sigDigits || lowest != lowestUS || highest < highestUS {
		return nil, ErrGeometry
	}
	if highest != highestUS || offset != 0 {
		return nil, errForeign
	}
	if payloadLen < 0 || payloadLen > int64(countsLen)*9 {
		return nil, fmt.Errorf("histogram: decode: payload of %d bytes", payloadLen)
	}
	if cap(in.buf) < int(payloadLen)+1 {
		in.buf = make([]byte, payloadLen+1)
	}
	buf := in.buf[:payloadLen+1]
	n, err := io.ReadFull(in.z, buf)
	if int64(n) != payloadLen || (err != io.ErrUnexpectedEOF && !(err == io.EOF && payloadLen == 0)) {
		// Exactly payloadLen bytes, then the end of the stream, which is
		// also where zlib verifies its checksum.
		return nil, fmt.Errorf("histogram: decode: payload of %d bytes, header says %d (%v)", n, payloadLen, err)
	}
	return fillSparse(buf[:payloadLen])
}

func (in *inflater) reset(b []byte) error {
	if in.z == nil {
		z, err := zlib.NewReader(bytes.NewReader(b))
		in.z = z
		return err
	}
	return in.z.(zlib.Resetter).Reset(bytes.NewReader(b), nil)
}

// fillSparse reads the V2 payload — zig-zag LEB128 counts, negative ones
// runs of empty slots — into a sparse histogram.
func fillSparse(payload []byte) (*hdr.PackedHistogram, error) {
	p := hdr.NewPacked(lowestUS, highestUS, sigDigits)
	idx := 0
	for pos := 0; pos < len(payload); {
		v, n, err := zigzag(payload[pos:])
		if err != nil {
			return nil, err
		}
		pos += n
		if v < 0 {
			if -v > int64(countsLen-idx) || v == -1<<63 {
				return nil, fmt.Errorf("histogram: decode: a run of %d empty slots at %d overflows %d", -v, idx, countsLen)
			}
			idx += int(-v)
			continue
		}
		if idx >= countsLen {
			return nil, fmt.Errorf("histogram: decode: count beyond the last slot %d", countsLen)
		}
		if v > 0 {
			if err := p.RecordValues(valueAt(idx), v); err != nil {
				return nil, fmt.Errorf("histogram: decode: %w", err)
			}
		}
		idx++
	}
	return p, nil
}

// valueAt is the lowest value of count slot idx.
func valueAt(idx int) int64 {
	bucket := idx>>subHalfMagnitude - 1
	sub := idx&(subHalfCount-1) + subHalfCount
	if bucket < 0 {
		sub -= subHalfCount
		bucket = 0
	}
	return int64(sub) << bucket
}

// zigzag reads one value in HdrHistogram's LEB128 variant: up to 8 bytes of
// 7 bits, then a 9th of 8 bits; then zig-zag.
func zigzag(b []byte) (int64, int, error) {
	var u uint64
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0, errors.New("histogram: decode: truncated count")
		}
		c := b[i]
		if i == 8 {
			u |= uint64(c) << 56
			return int64(u>>1) ^ -int64(u&1), 9, nil
		}
		u |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return int64(u>>1) ^ -int64(u&1), i + 1, nil
		}
	}
	panic("unreachable")
}
