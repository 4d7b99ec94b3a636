//go:build unix

package engine

import "syscall"

// hardFDLimit is the hard RLIMIT_NOFILE; ok is false when unknown or
// unlimited.
func hardFDLimit() (uint64, bool) {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil || lim.Max == ^uint64(0) {
		return 0, false
	}
	return uint64(lim.Max), true
}
