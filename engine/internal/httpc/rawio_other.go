//go:build !linux

package httpc

import "net"

// rawIO is the Linux reader with receive timestamps (rawio_linux.go);
// elsewhere connections use package net's reads and writes, and completion
// times are when a read returns.
type rawIO struct {
	stamped bool
}

func newRawIO(net.Conn) *rawIO             { return nil }
func (*rawIO) read(b []byte) (int, error)  { panic("httpc: no raw I/O on this platform") }
func (*rawIO) write(b []byte) (int, error) { panic("httpc: no raw I/O on this platform") }
func (*rawIO) takeStamp() int64            { return 0 }
func (*rawIO) hush()                       {}
