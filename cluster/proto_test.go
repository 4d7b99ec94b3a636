package cluster

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestFrameLimitBeforeTrust: until the peer is authenticated a frame may
// hold 64 KiB, after it MaxFrame.
func TestFrameLimitBeforeTrust(t *testing.T) {
	big := appendFrame(nil, msgHello, bytes.Repeat([]byte("x"), handshakeFrame+1))
	for _, trusted := range []bool{false, true} {
		a, b := net.Pipe()
		fc := newFrameConn(a)
		if trusted {
			fc.trust()
		}
		go func() { b.Write(big); b.Close() }()
		_, payload, err := fc.recv(time.Second)
		var fe *FrameError
		if trusted != (err == nil) || (!trusted && (!errors.As(err, &fe) || !strings.Contains(err.Error(), "exceeds the 65536-byte limit"))) {
			t.Errorf("trusted %v: %d bytes, err %v", trusted, len(payload), err)
		}
		a.Close()
	}
}

// TestFrameMemoryFollowsBytes: a frame announcing 16 MiB and sending a few
// bytes costs a few KB, not the announced size.
func TestFrameMemoryFollowsBytes(t *testing.T) {
	head := appendFrame(nil, msgInterval, nil)
	head[0], head[1], head[2], head[3] = 0x00, 0xff, 0xff, 0xff // 16 MiB - 1
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 16 {
		_, _, err := readFrame(io.MultiReader(bytes.NewReader(head), strings.NewReader("{}")), MaxFrame)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 4<<20 {
		t.Fatalf("16 truncated 16 MiB frames allocated %d bytes", d)
	}
}
