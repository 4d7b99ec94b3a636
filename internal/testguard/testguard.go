// Package testguard wraps a test binary's TestMain with two checks of the
// house rules for tests (RELIABILITY.md, "Tests that prove it"):
//
//   - loopback only: on Linux the tests re-run themselves in a fresh
//     network namespace whose only interface is loopback (unshare -rn), so a
//     dial to any other address fails with "network is unreachable" and the
//     test that made it fails; and DNS lookups outside /etc/hosts fail with
//     ErrRealDNS (tests inject resolvers instead). Without unshare, only the
//     DNS guard applies.
//   - no leaked goroutines: after the tests, the goroutine count must return
//     to where it was before them (within a grace period for goroutines
//     that are already ending); otherwise the stacks are printed and the
//     binary fails.
package testguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"
)

// ErrRealDNS is what a guarded test gets from a DNS query.
var ErrRealDNS = errors.New("testguard: tests must not use real DNS; inject a resolver or dialer")

const envNetns = "LOADGATE_TEST_NETNS"

// Main runs m under the guards and exits with its code.
func Main(m *testing.M) {
	if os.Getenv(envNetns) == "" {
		if code, ok := inLoopbackNetns(); ok {
			os.Exit(code)
		}
	}
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, ErrRealDNS
	}}
	base := goroutines()
	code := m.Run()
	if code == 0 && !settled(base, 10*time.Second) {
		fmt.Fprintf(os.Stderr, "testguard: %d goroutines after the tests, %d before: leaked goroutines:\n", goroutines(), base)
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		code = 1
	}
	os.Exit(code)
}

// settled waits up to grace for the goroutine count to return to base.
func settled(base int, grace time.Duration) bool {
	deadline := time.Now().Add(grace)
	for goroutines() > base {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// benign are goroutines that end by themselves later and are not leaks:
// fasthttp's idle-connection cleaner of a HostClient exits on its next
// tick (MaxIdleConnDuration) after the engine closed the connections; the
// os/signal loop starts on the first signal.Notify (the fuzzing engine's
// too) and lives as long as the process.
var benign = []string{"fasthttp.(*HostClient).connsCleaner", "os/signal.loop"}

// goroutines counts the goroutines, not counting benign ones.
func goroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.TrimSpace(g) == "" || slices.ContainsFunc(benign, func(b string) bool { return strings.Contains(g, b) }) {
			continue
		}
		count++
	}
	return count
}

// inLoopbackNetns re-runs this test binary inside a new user and network
// namespace with loopback up. ok is false when that is not possible here.
func inLoopbackNetns() (code int, ok bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return 0, false
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return 0, false
	}
	// A probe first: user namespaces may be disabled.
	if exec.Command(unshare, "-rn", ip, "link", "set", "lo", "up").Run() != nil {
		return 0, false
	}
	args := append([]string{"-rn", "sh", "-c", `"$0" link set lo up && exec "$@"`, ip, os.Args[0]}, os.Args[1:]...)
	cmd := exec.Command(unshare, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envNetns+"=1")
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ee):
		return ee.ExitCode(), true
	}
	return 0, false
}
