package faults

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadgate/loadgate/internal/loopback"
)

// Paths of the fault target. Durations are Go durations, sizes are bytes.
//
//	/ok, /anything-else   200 with a 2-byte body (query strings are ignored)
//	/status/CODE          always CODE
//	/storm                200, or the status set by Storm while a storm is on
//	/delay/D              answer after D
//	/delay/exp/MEAN       after an exponentially distributed delay
//	/delay/uniform/LO/HI  after a delay uniform in [LO, HI)
//	/drip/N/EVERY         Content-Length N, then one byte every EVERY (slow loris)
//	/hang                 read the request, never answer
//	/reset                announce 100000 bytes, send 7, then RST
//	/short                announce 100 bytes, send 5, then FIN
//	/huge/N               N zero bytes (Content-Length)
//	/huge-chunked/N       N zero bytes (chunked)
//	/gzip-bomb            GzipBombSize zero bytes gzip-encoded (about 1000:1)
//	/huge-headers/N       a response head of N bytes
//	/redirect-loop        302 to itself
const (
	// GzipBombSize is what /gzip-bomb inflates to.
	GzipBombSize = 64 << 20
)

// Server is the fault target. The zero value is not usable: call New.
type Server struct {
	// URL is http://127.0.0.1:PORT (https:// for TLS variants).
	URL string

	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup
	reqs atomic.Int64
	// storm is the status /storm answers while a storm is on; 0 is off.
	storm atomic.Int64

	mu sync.Mutex
	// guarded by mu
	conns  map[net.Conn]struct{}
	closed bool
}

// New starts a plain HTTP fault target on 127.0.0.1 at a free port.
func New() (*Server, error) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return serve(ln, "http://"+ln.Addr().String(), true), nil
}

// Listen listens on addr, which must be a loopback address: the fault
// target is for tests and must never be reachable from elsewhere.
func Listen(addr string) (net.Listener, error) {
	if !loopback.Addr(addr) {
		return nil, fmt.Errorf("faults: %q is not a loopback address", addr)
	}
	return net.Listen("tcp", addr)
}

func serve(ln net.Listener, url string, speak bool) *Server {
	s := &Server{URL: url, ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept(speak)
	return s
}

func (s *Server) accept(speak bool) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			if speak {
				s.serveConn(c)
				return
			}
			// No handshake: hold the connection silently until closed.
			io.Copy(io.Discard, c)
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// Requests is the number of requests read so far.
func (s *Server) Requests() int64 { return s.reqs.Load() }

// Storm makes /storm answer status until Storm(0).
func (s *Server) Storm(status int) { s.storm.Store(int64(status)) }

// Close stops the server gracefully: open connections are closed with a
// FIN. It returns after every goroutine of the server has exited.
func (s *Server) Close() error { return s.shutdown(false) }

// Crash stops the server as a crashing process would: the listener closes
// (new connections are refused) and every open connection is reset.
func (s *Server) Crash() { s.shutdown(true) }

func (s *Server) shutdown(reset bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		if reset {
			setLinger0(c)
		}
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// setLinger0 makes Close send RST instead of FIN.
func setLinger0(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}

// serveConn answers requests on c until a fault ends the connection.
func (s *Server) serveConn(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		s.reqs.Add(1)
		if !s.answer(c, req.URL.Path) {
			return
		}
	}
}

// answer writes the response for path; false ends the connection.
func (s *Server) answer(c net.Conn, path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	arg := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	switch parts[0] {
	case "status":
		code, _ := strconv.Atoi(arg(1))
		return reply(c, code, "", "x")
	case "storm":
		if code := int(s.storm.Load()); code != 0 {
			return reply(c, code, "", "storm")
		}
		return reply(c, 200, "", "ok")
	case "delay":
		if !s.sleep(delay(parts[1:])) {
			return false
		}
		return reply(c, 200, "", "ok")
	case "drip":
		n, _ := strconv.Atoi(arg(1))
		every, _ := time.ParseDuration(arg(2))
		return s.drip(c, n, every)
	case "hang":
		<-s.done
		return false
	case "reset":
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
		time.Sleep(20 * time.Millisecond) // let the client read the head
		setLinger0(c)
		return false
	case "short":
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
		return false
	case "huge":
		n, _ := strconv.ParseInt(arg(1), 10, 64)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n)
		return writeZeros(c, n, false)
	case "huge-chunked":
		n, _ := strconv.ParseInt(arg(1), 10, 64)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		return writeZeros(c, n, true)
	case "gzip-bomb":
		b := bomb()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(b))
		_, err := c.Write(b)
		return err == nil
	case "huge-headers":
		n, _ := strconv.Atoi(arg(1))
		return reply(c, 200, "X-Filler: "+strings.Repeat("a", max(n, 0))+"\r\n", "ok")
	case "redirect-loop":
		return reply(c, 302, "Location: /redirect-loop\r\n", "")
	}
	return reply(c, 200, "", "ok")
}

// reply writes a complete response; false when the write failed.
func reply(c net.Conn, code int, headers, body string) bool {
	if code < 100 || code > 999 {
		code = 500
	}
	_, err := fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n%s", code, http.StatusText(code), headers, len(body), body)
	return err == nil
}

// sleep waits d or until the server closes.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// delay draws a delay from a /delay path: D, exp/MEAN or uniform/LO/HI.
func delay(parts []string) time.Duration {
	dur := func(i int) time.Duration {
		if i >= len(parts) {
			return 0
		}
		d, _ := time.ParseDuration(parts[i])
		return max(d, 0)
	}
	switch {
	case len(parts) > 0 && parts[0] == "exp":
		return time.Duration(rand.ExpFloat64() * float64(dur(1)))
	case len(parts) > 0 && parts[0] == "uniform":
		lo, hi := dur(1), dur(2)
		if hi <= lo {
			return lo
		}
		return lo + rand.N(hi-lo)
	}
	return dur(0)
}

func (s *Server) drip(c net.Conn, n int, every time.Duration) bool {
	if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n); err != nil {
		return false
	}
	for range n {
		if !s.sleep(every) {
			return false
		}
		if _, err := c.Write([]byte{'.'}); err != nil {
			return false
		}
	}
	return true
}

var zeros = make([]byte, 64<<10)

// writeZeros writes n zero bytes, as chunks when chunked.
func writeZeros(c net.Conn, n int64, chunked bool) bool {
	for n > 0 {
		b := zeros[:min(n, int64(len(zeros)))]
		if chunked {
			if _, err := fmt.Fprintf(c, "%x\r\n", len(b)); err != nil {
				return false
			}
		}
		if _, err := c.Write(b); err != nil {
			return false
		}
		if chunked {
			if _, err := io.WriteString(c, "\r\n"); err != nil {
				return false
			}
		}
		n -= int64(len(b))
	}
	if chunked {
		_, err := io.WriteString(c, "0\r\n\r\n")
		return err == nil
	}
	return true
}

// bomb is GzipBombSize zeros, gzip-compressed once per process.
var bomb = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	for n := 0; n < GzipBombSize; n += len(zeros) {
		zw.Write(zeros)
	}
	zw.Close()
	return buf.Bytes()
})
