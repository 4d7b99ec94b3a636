package httpc

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzReadResponse feeds raw bytes to the response reader that discards
// bodies, twice in a row: it must never panic or hang, and when the first
// read consumed exactly the input on a kept-alive connection, the second
// copy must parse to the same status (framing state does not leak from one
// response to the next).
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"garbage",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), true)
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		if len(raw) > 1<<16 {
			return
		}
		var resp fasthttp.Response
		in := bytes.NewReader(append(append([]byte{}, raw...), raw...))
		br := bufio.NewReaderSize(in, 4096)
		keep, err := readResponse(br, &resp, head)
		if err != nil || !keep {
			return
		}
		if consumed := 2*len(raw) - in.Len() - br.Buffered(); consumed != len(raw) {
			return // the input was not exactly one response (a body ran into the copy)
		}
		status := resp.StatusCode()
		var again fasthttp.Response
		if _, err := readResponse(br, &again, head); err == nil && again.StatusCode() != status {
			t.Fatalf("second copy parsed as %d, first as %d", again.StatusCode(), status)
		}
	})
}

// TestChunkSize covers the chunk-size line grammar.
func TestChunkSize(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int64
		ok   bool
	}{
		{"0", 0, true},
		{"1a", 26, true},
		{"FF ; name=value", 255, true},
		{"10;x", 16, true},
		{"", 0, false},
		{"g", 0, false},
		{"1 2", 0, false},
		{"1000000000000000", 0, false}, // 16 hex digits: refused, never overflows
	} {
		n, ok := chunkSize([]byte(tc.line))
		if n != tc.n || ok != tc.ok {
			t.Errorf("chunkSize(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}
