// Package testguard wraps a test binary's TestMain with two checks of the
// house rules for tests (docs/reliability.md, "Test hygiene"):
//
//   - loopback only: on Linux the tests re-run themselves in a fresh
//     network namespace whose only interface is loopback (unshare -rn, from
//     Debian's util-linux, then ip link set lo up, from iproute2), so a dial
//     to any other address fails with "network is unreachable" and the test
//     that made it fails; and DNS lookups outside /etc/hosts fail with
//     ErrRealDNS (tests inject resolvers instead). When the namespace cannot
//     be made (a tool missing, user namespaces disabled), the test binary
//     fails with the reason if the environment variable CI is set (the
//     internal/testtool rule); elsewhere it prints a notice to stderr and
//     runs under the DNS guard alone.
//   - no leaked goroutines: after the tests, the goroutine count must return
//     to where it was before them (within a grace period for goroutines
//     that are already ending); otherwise the stacks are printed and the
//     binary fails.
package testguard

import (
	"bytes"
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

	"github.com/loadgate/loadgate/internal/testtool"
)

// ErrRealDNS is what a guarded test gets from a DNS query.
var ErrRealDNS = errors.New("testguard: tests must not use real DNS; inject a resolver or dialer")

const envNetns = "LOADGATE_TEST_NETNS"

// netnsErr is why the tests run outside a loopback-only namespace (nil
// inside one).
var netnsErr error

// Main runs m under the guards and exits with its code.
func Main(m *testing.M) {
	if os.Getenv(envNetns) == "" {
		code, err := inLoopbackNetns()
		if err == nil {
			os.Exit(code)
		}
		netnsErr = err
		noNetns(err)
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

// noNetns reports that the tests cannot run in a loopback-only namespace:
// a failure of the test binary where CI is set, a loud notice elsewhere.
func noNetns(why error) {
	msg := fmt.Sprintf("testguard: no loopback-only network namespace: %v", why)
	if testtool.InCI() && runtime.GOOS == "linux" {
		fmt.Fprintf(os.Stderr, "%s\ntestguard: CI is set, so this is a failure: the tests must not run with the real network\n", msg)
		os.Exit(1)
	}
	bar := strings.Repeat("!", 72)
	fmt.Fprintf(os.Stderr, "%s\n%s\ntestguard: the tests run WITHOUT the loopback-only guard: a dial off loopback is not caught (only the DNS guard applies)\n%s\n", bar, msg, bar)
}

// inLoopbackNetns re-runs this test binary inside a new user and network
// namespace with loopback up and returns its exit code. err says why that
// is not possible here; it names the Debian package of a missing tool.
func inLoopbackNetns() (code int, err error) {
	if runtime.GOOS != "linux" {
		return 0, fmt.Errorf("network namespaces are Linux's; this is %s", runtime.GOOS)
	}
	unshare, err := testtool.Lookup("unshare", "util-linux")
	if err != nil {
		return 0, err
	}
	ip, err := testtool.Lookup("ip", "iproute2")
	if err != nil {
		return 0, err
	}
	// A probe first: user namespaces may be disabled.
	if out, err := exec.Command(unshare, "-rn", ip, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("unshare -rn %s link set lo up: %v (user namespaces disabled? see sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone): %s",
			ip, err, bytes.TrimSpace(out))
	}
	args := append([]string{"-rn", "sh", "-c", `"$0" link set lo up && exec "$@"`, ip, os.Args[0]}, os.Args[1:]...)
	cmd := exec.Command(unshare, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envNetns+"=1")
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitCode(), nil
	}
	return 0, fmt.Errorf("re-running the tests under unshare: %w", err)
}
