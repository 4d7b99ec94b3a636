//go:build linux

package httpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadgate/loadgate/bench/stub"
	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// tcpPair returns the two ends of a loopback TCP connection: the client's
// with raw I/O, and the server's as a plain net.Conn.
func tcpPair(t *testing.T) (*rawIO, net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	t.Cleanup(func() { c.Close(); srv.Close() })
	x := newRawIO(c)
	if x == nil || !x.stamped {
		t.Fatal("no raw I/O with receive timestamps on a loopback TCP connection")
	}
	// The kernel turns timestamping on asynchronously (a work item) when
	// the first socket asks for it: wait until data arrives stamped.
	// A work item waits for a kernel worker thread, which a loaded machine
	// may not run for a while: the deadline is generous.
	buf := make([]byte, 1)
	for deadline := time.Now().Add(10 * time.Second); ; {
		srv.Write([]byte{0})
		if _, err := x.read(buf); err != nil {
			t.Fatal(err)
		}
		if x.takeStamp() != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no receive timestamp after 10 s of reads")
		}
		time.Sleep(time.Millisecond)
	}
	return x, c, srv
}

// readable reports whether poll(2) sees the client's socket readable now.
func readable(t *testing.T, x *rawIO) bool {
	t.Helper()
	var ev int16
	if err := x.rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		_, err := unix.Poll(p, 0)
		for err == unix.EINTR { // the runtime's preemption signals
			_, err = unix.Poll(p, 0)
		}
		if err != nil {
			t.Error(err)
		}
		ev = p[0].Revents
	}); err != nil {
		t.Fatal(err)
	}
	return ev&unix.POLLIN != 0
}

// TestRawIOQuiet: a hushed socket does not signal the data that arrives,
// yet a read returns it with its receive timestamp; a read that finds
// nothing makes arrivals heard again and waits for the next one.
func TestRawIOQuiet(t *testing.T) {
	x, _, srv := tcpPair(t)
	x.hush()
	if _, err := srv.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if readable(t, x) {
		t.Fatal("a hushed socket signalled 3 bytes")
	}
	buf := make([]byte, 16)
	before := time.Now().UnixNano()
	n, err := x.read(buf)
	if err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if st := x.takeStamp(); st == 0 || st > before || before-st < int64(15*time.Millisecond) {
		t.Fatalf("stamp %d ns before the read, want ≥ 15 ms: when the bytes arrived", before-st)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		srv.Write([]byte("def"))
	}()
	n, err = x.read(buf) // nothing there yet: must wait, not hang
	if err != nil || string(buf[:n]) != "def" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if x.quiet {
		t.Fatal("still hushed after a read that had to wait")
	}
	if _, err := srv.Write([]byte("g")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if !readable(t, x) {
		t.Fatal("data is not signalled once the socket is heard again")
	}
}

// TestRawIOWriteAll: a write larger than the socket buffers returns only
// once every byte went out, across EAGAINs.
func TestRawIOWriteAll(t *testing.T) {
	x, _, srv := tcpPair(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(srv, int64(len(big))))
		got <- b
	}()
	n, err := x.write(big)
	if err != nil || n != len(big) {
		t.Fatalf("write %d of %d, %v", n, len(big), err)
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("server read %d bytes, not what was written", len(b))
	}
}

// TestRawIOErrors: raw reads fail as package net's do, in message and in
// the errors the engine classifies them by.
func TestRawIOErrors(t *testing.T) {
	buf := make([]byte, 8)
	t.Run("eof", func(t *testing.T) {
		x, _, srv := tcpPair(t)
		srv.Close()
		if _, err := x.read(buf); err != io.EOF {
			t.Fatalf("read after close: %v, want EOF", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		x, _, srv := tcpPair(t)
		srv.(*net.TCPConn).SetLinger(0)
		srv.Close()
		time.Sleep(10 * time.Millisecond)
		_, err := x.read(buf)
		if !errors.Is(err, syscall.ECONNRESET) || !strings.HasPrefix(err.Error(), "read tcp 127.0.0.1:") || !strings.HasSuffix(err.Error(), "connection reset by peer") {
			t.Fatalf("read after reset: %v, want ECONNRESET (class reset)", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		x, c, _ := tcpPair(t)
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := x.read(buf)
		var oe *net.OpError
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "read" {
			t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded (class timeout)", err)
		}
	})
	t.Run("write to reset", func(t *testing.T) {
		x, _, srv := tcpPair(t)
		srv.(*net.TCPConn).SetLinger(0)
		srv.Close()
		time.Sleep(10 * time.Millisecond)
		var err error
		for range 10 { // the first write may still be accepted
			if _, err = x.write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
				break
			}
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) || !strings.HasPrefix(err.Error(), "write tcp ") {
			t.Fatalf("write after reset: %v, want ECONNRESET or EPIPE (class reset)", err)
		}
	})
}

// startTCPStub serves the bench stub on a loopback port.
func startTCPStub(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer()
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Shutdown(); <-done })
	return ln.Addr().String()
}

// stubClient returns the HTTP/1.1 client of a loopback stub and a request
// for it.
func stubClient(t *testing.T) (*HostClient, *fasthttp.Request, *fasthttp.Response) {
	t.Helper()
	addr := startTCPStub(t)
	cs := NewConns()
	t.Cleanup(cs.CloseAll)
	hc, err := NewHostClient("http://"+addr, Config{MaxConns: 1, Conns: cs})
	if err != nil {
		t.Fatal(err)
	}
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetRequestURI("http://" + addr + "/")
	keepStamping(t)
	return hc, req, resp
}

// keepStamping makes sure the kernel stamps received data until the test
// ends: it turns timestamping on asynchronously for the first socket that
// asks (tcpPair waits for that) and off again after the last one closes.
func keepStamping(t *testing.T) {
	t.Helper()
	tcpPair(t)
}

// TestCompletionIsArrival: a response read 50 ms after it arrived (the
// clock deferred the read) is stamped when it arrived.
func TestCompletionIsArrival(t *testing.T) {
	hc, req, resp := stubClient(t)
	for i := range 3 {
		x := Xfer{Pace: func() { time.Sleep(50 * time.Millisecond) }}
		sent := time.Now()
		if err := hc.Exchange(req, resp, time.Second, &x); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("exchange %d: %v, status %d", i, err, resp.StatusCode())
		}
		took := time.Since(sent)
		if x.Stamp == 0 || took < 50*time.Millisecond {
			t.Fatalf("exchange %d: stamp %d, took %v", i, x.Stamp, took)
		}
		if end := time.Duration(x.Stamp - sent.UnixNano()); end > 20*time.Millisecond {
			t.Errorf("exchange %d: stamped %v after the send, want the arrival (< 20ms), not the read 50 ms later", i, end)
		}
	}
}

// TestPaceMin: an exchange whose timeout is short next to the slack reads
// at once; a deferred read must not eat the request's time.
func TestPaceMin(t *testing.T) {
	hc, req, resp := stubClient(t)
	for _, tc := range []struct {
		timeout time.Duration
		paced   bool
	}{{time.Second, false}, {3 * time.Second, true}} {
		paced := false
		x := Xfer{Pace: func() { paced = true }, PaceMin: 2 * time.Second}
		if err := hc.Exchange(req, resp, tc.timeout, &x); err != nil {
			t.Fatal(err)
		}
		if paced != tc.paced {
			t.Errorf("timeout %v, pacing from 2s: paced %v", tc.timeout, paced)
		}
	}
}

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	binary.NativeEndian.PutUint64(b, uint64(unix.CmsgLen(len(data))))
	binary.NativeEndian.PutUint32(b[8:], uint32(level))
	binary.NativeEndian.PutUint32(b[12:], uint32(typ))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func timespec(sec, nsec int64) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint64(b, uint64(sec))
	binary.NativeEndian.PutUint64(b[8:], uint64(nsec))
	return b
}

func TestRxStamp(t *testing.T) {
	if unix.SizeofPtr != 8 {
		t.Skip("the test builds 64-bit control messages")
	}
	ts := timespec(1700000000, 123456789)
	want := int64(1700000000)*1e9 + 123456789
	for _, tc := range []struct {
		name string
		oob  []byte
		ok   bool
	}{
		{"new form", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts), true},
		{"old form", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, ts), true},
		{"after another message", append(cmsg(unix.SOL_IP, 7, []byte{1, 2, 3}), cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts)...), true},
		{"empty", nil, false},
		{"other level", cmsg(unix.SOL_IP, unix.SO_TIMESTAMPNS_NEW, ts), false},
		{"short data", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts[:8]), false},
		{"truncated buffer", cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, ts)[:20], false},
	} {
		got, ok := rxStamp(tc.oob)
		if ok != tc.ok || ok && got != want {
			t.Errorf("%s: %d %v, want %d %v", tc.name, got, ok, want, tc.ok)
		}
	}
}

// FuzzRxStamp: any control buffer parses without a panic.
func FuzzRxStamp(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, timespec(1, 2)))
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255, 1, 0, 0, 0, 64, 0, 0, 0})
	f.Add(make([]byte, 15))
	f.Fuzz(func(t *testing.T, b []byte) {
		rxStamp(b)
	})
}
