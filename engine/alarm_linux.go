//go:build linux

package engine

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timerfdAlarm is a clock's alarm on a timerfd. Go's timers sleep in
// epoll_wait, whose timeout has millisecond resolution, so a wait of 200 µs
// on an otherwise idle process ends up to 1 ms late; a timerfd is an event
// on the netpoller instead and rings within the kernel's timer slack. It is
// set to absolute CLOCK_MONOTONIC instants, so that waits due at the same
// offset ring together. Its system calls are raw, for the reason the
// client's raw reads give (engine/internal/httpc/rawio_linux.go): they
// never block, and the scheduler's syscall hook would wake the runtime's
// monitor thread at every ring.
type timerfdAlarm struct {
	fd     int
	f      *os.File
	rc     syscall.RawConn
	base   int64 // CLOCK_MONOTONIC, ns, at offset 0 of the run
	spec   unix.ItimerSpec
	readFn func(fd uintptr) bool
	buf    [8]byte
}

// newKernelAlarm returns a timerfd alarm for offsets of since, or an error
// when the process cannot have one (no fd left, say): the clock then uses a
// Go timer, and the run's reports say so.
func newKernelAlarm(since func() time.Duration) (alarm, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("clock_gettime: %w", err)
	}
	// since is read after the kernel's clock, so base errs early by the
	// time between the two reads (tens of ns): the clock treats a ring as
	// happening at the instant it was set for.
	base := ts.Nano() - int64(since())
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	a := &timerfdAlarm{fd: fd, f: f, rc: rc, base: base}
	a.readFn = a.read
	return a, nil
}

func (a *timerfdAlarm) set(at time.Duration) {
	// An instant of 0 would disarm the timer; base is the system's uptime
	// at the start of the run, so base+at is positive.
	a.spec.Value = unix.NsecToTimespec(a.base + int64(max(at, 0)))
	syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(a.fd), unix.TFD_TIMER_ABSTIME, uintptr(unsafe.Pointer(&a.spec)), 0, 0, 0)
}

func (a *timerfdAlarm) wait() bool {
	return a.rc.Read(a.readFn) == nil
}

// read takes the timer's expirations; it reports false while there are
// none, and the alarm's goroutine parks on the netpoller.
func (a *timerfdAlarm) read(fd uintptr) bool {
	for {
		_, _, e := syscall.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&a.buf[0])), uintptr(len(a.buf)))
		if e != syscall.EINTR {
			return e != syscall.EAGAIN
		}
	}
}

func (a *timerfdAlarm) close() { a.f.Close() }
