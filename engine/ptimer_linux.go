//go:build linux

package engine

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// preciseTimer waits with the kernel's high-resolution timers. Go's timers
// sleep in epoll_wait, whose timeout has millisecond resolution, so a wait
// of 200 µs on an otherwise idle process ends up to 1 ms late: at 5,000
// arrivals per second every arrival would be that late. A timerfd is an
// event on the netpoller instead, so the wait ends within the kernel's
// timer slack (tens of µs). It costs two syscalls per wait, so workers use
// it only for the last stretch before an arrival (see worker.sleep).
type preciseTimer struct {
	fd  int
	f   *os.File
	buf [8]byte
}

func newPreciseTimer() *preciseTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil // out of fds: fall back to Go timers
	}
	return &preciseTimer{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}
}

// wait blocks for d; it reports false if the timer failed (then the caller
// falls back to a Go timer).
func (t *preciseTimer) wait(d time.Duration) bool {
	if d <= 0 {
		return true // a zero value would disarm the timer, not fire it
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if unix.TimerfdSettime(t.fd, 0, &spec, nil) != nil {
		return false
	}
	_, err := t.f.Read(t.buf[:])
	return err == nil
}

func (t *preciseTimer) close() { t.f.Close() }
