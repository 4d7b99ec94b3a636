//go:build linux && race

package httpc

import "syscall"

// Under the race detector, syscall.Read and syscall.Write also record that
// data passed through the kernel: a write happens before the read that
// sees its bytes, as between a test's server and the client. Raw system
// calls skip that record, so each raw read and write is paired with a
// zero-length one here, which moves no data and carries the record.

func raceReleaseIO(fd uintptr) { _, _ = syscall.Write(int(fd), nil) }
func raceAcquireIO(fd uintptr) { _, _ = syscall.Read(int(fd), nil) }
