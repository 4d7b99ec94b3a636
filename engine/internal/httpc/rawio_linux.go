//go:build linux

package httpc

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawIO does a TCP connection's reads and writes itself, for two reasons.
//
// Receive timestamps: the socket has SO_TIMESTAMPNS, so every read (a
// recvmsg) also says when its last segment reached this host's kernel.
// That instant, not the moment our goroutine got round to reading, is the
// response's completion time: a request's latency does not include the
// generator's own wake-up, and the engine's clock may defer a read
// (Xfer.Pace) without changing what is measured.
//
// No scheduler hooks: the calls are raw system calls (syscall.RawSyscall),
// which do not tell the Go scheduler that a syscall began. The socket is
// non-blocking, so none of them blocks: a call that would block returns
// EAGAIN and the goroutine parks on the netpoller, as in package net. The
// hook they skip would wake the runtime's monitor thread (sysmon) at the
// first syscall after every idle spell, one more thread wake-up each time
// the process wakes: at thousands of wake-ups a second, that thread's
// wake-ups cost as much CPU as the process's own.
//
// Quiet reads: a socket wakes the netpoller (and so the whole process) the
// moment data arrives, whether or not a goroutine waits for it: the
// runtime registers every socket, edge-triggered. A read deferred to the
// clock's next wake-up would still cost that wake-up. So before such a
// read the socket is hushed: SO_RCVLOWAT is raised to quietLowat, and the
// kernel signals readability only once that much has arrived (or the
// connection ends), while a read still returns whatever is there. A read
// that finds nothing lowers it back to 1 before it parks, so waiting works
// as ever; setting it signals at once if enough data came meanwhile.
//
// Concurrency: one goroutine reads and one writes at a time (a connection
// carries one request at a time); Close may come from any goroutine.
type rawIO struct {
	rc           syscall.RawConn
	laddr, raddr net.Addr

	// read state: the recvmsg arguments, bound once so that a read does
	// not allocate a closure or a header
	readFn  func(fd uintptr) bool
	msg     unix.Msghdr
	iov     unix.Iovec
	oob     [64]byte
	rn      int
	rerr    error
	stamped bool  // the socket delivers receive timestamps
	stamp   int64 // wall-clock ns of the newest data read; 0 after takeStamp
	quiet   bool  // SO_RCVLOWAT is quietLowat (see hush)
	hushFn  func(fd uintptr)

	writeFn func(fd uintptr) bool
	wbuf    []byte
	wn      int
	werr    error
}

// newRawIO returns a rawIO for c when c is a TCP connection, else nil.
// Receive timestamps are best effort: a kernel without them still gets raw
// calls, and a response then completes when its read returns. (The kernel
// also turns timestamping on asynchronously when the first socket of the
// host asks for it, so the first packets after that may come unstamped.)
func newRawIO(c net.Conn) *rawIO {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	x := &rawIO{rc: rc, laddr: tc.LocalAddr(), raddr: tc.RemoteAddr()}
	x.readFn, x.writeFn, x.hushFn = x.recv, x.send, x.raiseLowat
	x.msg.Iov = &x.iov
	x.msg.Iovlen = 1
	_ = rc.Control(func(fd uintptr) {
		x.stamped = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, 1) == nil ||
			unix.SizeofPtr == 8 && unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_OLD, 1) == nil
	})
	return x
}

// quietLowat is SO_RCVLOWAT while a read is deferred: responses up to this
// size arrive without a wake-up. It stays well under the default receive
// buffer (tcp_rmem, 128 KiB), which the kernel would otherwise enlarge to
// match.
const quietLowat = 16 << 10

// hush makes the socket's arrivals silent until the next read that finds
// nothing (see rawIO). Called by the reading goroutine.
func (x *rawIO) hush() {
	if !x.quiet {
		_ = x.rc.Control(x.hushFn)
	}
}

func (x *rawIO) raiseLowat(fd uintptr) { x.quiet = setLowat(fd, quietLowat) == 0 }

// setLowat sets SO_RCVLOWAT with a raw system call (see rawIO).
func setLowat(fd uintptr, n int32) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_SETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT,
		uintptr(unsafe.Pointer(&n)), unsafe.Sizeof(n), 0)
	return e
}

// read is net.Conn.Read through recvmsg.
func (x *rawIO) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	x.iov.Base = &b[0]
	x.iov.SetLen(len(b))
	x.rn, x.rerr = 0, nil
	err := x.rc.Read(x.readFn)
	x.iov.Base = nil
	switch {
	case err != nil:
		return 0, x.opError(err)
	case x.rerr != nil:
		return 0, x.rerr
	case x.rn == 0:
		return 0, io.EOF
	}
	return x.rn, nil
}

// recv is one recvmsg; it reports false when the socket has nothing yet.
func (x *rawIO) recv(fd uintptr) bool {
	for {
		x.msg.Control = &x.oob[0]
		x.msg.SetControllen(len(x.oob))
		n, _, e := syscall.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&x.msg)), 0)
		switch e {
		case 0:
			x.rn = int(n)
			raceAcquireIO(fd)
			if ns, ok := rxStamp(x.oob[:x.msg.Controllen]); ok && n > 0 {
				x.stamp = ns
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if x.quiet {
				// Nothing yet: make arrivals heard again before parking,
				// and look once more, in case data came just before. A
				// socket that stayed hushed would sleep through its answer.
				if e := setLowat(fd, 1); e != 0 {
					x.rerr = x.opError(os.NewSyscallError("setsockopt", e))
					return true
				}
				x.quiet = false
				continue
			}
			return false
		}
		x.rerr = x.opError(os.NewSyscallError("read", e))
		return true
	}
}

// write is net.Conn.Write through write(2): all of b, or an error.
func (x *rawIO) write(b []byte) (int, error) {
	x.wbuf, x.wn, x.werr = b, 0, nil
	err := x.rc.Write(x.writeFn)
	n := x.wn
	x.wbuf = nil
	switch {
	case err != nil:
		return n, x.opError(err)
	case x.werr != nil:
		return n, x.werr
	}
	return n, nil
}

// send writes what is left of wbuf; it reports false to wait until the
// socket can take more.
func (x *rawIO) send(fd uintptr) bool {
	raceReleaseIO(fd)
	for x.wn < len(x.wbuf) {
		p := x.wbuf[x.wn:]
		n, _, e := syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			x.wn += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			x.werr = x.opError(os.NewSyscallError("write", e))
			return true
		}
	}
	return true
}

// takeStamp returns the wall-clock time (ns) at which the newest data read
// reached the kernel, and forgets it; 0 when no read since had one.
func (x *rawIO) takeStamp() int64 {
	ns := x.stamp
	x.stamp = 0
	return ns
}

// opError wraps err as package net does, so that messages and error
// classes are those of a plain net.Conn ("read tcp a->b: ...").
func (x *rawIO) opError(err error) error {
	if oe, ok := err.(*net.OpError); ok {
		// RawConn names its operations "raw-read" and "raw-write".
		switch oe.Op {
		case "raw-read":
			oe.Op = "read"
		case "raw-write":
			oe.Op = "write"
		}
		return oe
	}
	op := "read"
	if se, ok := err.(*os.SyscallError); ok && se.Syscall == "write" {
		op = "write"
	}
	return &net.OpError{Op: op, Net: "tcp", Source: x.laddr, Addr: x.raddr, Err: err}
}

// rxStamp finds a receive timestamp (SO_TIMESTAMPNS_NEW, or the old form
// where it has the same layout: 64-bit systems) in a recvmsg control
// buffer. The buffer is read field by field, so its alignment does not
// matter.
func rxStamp(oob []byte) (int64, bool) {
	const hdr = unix.SizeofCmsghdr
	for len(oob) >= hdr {
		var n uint64
		if unix.SizeofPtr == 8 {
			n = binary.NativeEndian.Uint64(oob)
		} else {
			n = uint64(binary.NativeEndian.Uint32(oob))
		}
		level := int32(binary.NativeEndian.Uint32(oob[hdr-8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[hdr-4:]))
		start := uint64(unix.CmsgLen(0))
		if n < start || n > uint64(len(oob)) {
			return 0, false
		}
		data := oob[start:n]
		isNS := typ == unix.SO_TIMESTAMPNS_NEW || typ == unix.SO_TIMESTAMPNS_OLD && unix.SizeofPtr == 8
		if level == unix.SOL_SOCKET && isNS && len(data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(data))
			nsec := int64(binary.NativeEndian.Uint64(data[8:]))
			return sec*int64(time.Second) + nsec, true
		}
		next := uint64(unix.CmsgSpace(int(n - start)))
		if next > uint64(len(oob)) {
			return 0, false
		}
		oob = oob[next:]
	}
	return 0, false
}
