// Package wstarget is a WebSocket server for tests and for the built-in
// target (`loadgate target`, internal/demotarget): an echo, a feed that
// pushes JSON quotes at a rate, replies that come late, sessions the server
// closes itself, and upgrades it refuses. Each behaviour is chosen by the
// query of the handshake's URL, so one server serves every case:
//
//	/ws/echo   sends every message back (text or binary), as it came
//	/ws/feed   sends {"type":"welcome","session":"s-1","symbol":"LGT"}, then
//	           {"type":"quote","seq":1,"symbol":"LGT","price":101.25} at ?rate=
//	           per second (default 10, at most 1000); a text message
//	           {"op":"subscribe","symbol":"ABC"} is answered with
//	           {"type":"subscribed","symbol":"ABC"} and switches the quotes to
//	           that symbol; anything else with {"type":"error",...}
//
// Query parameters, on either path:
//
//	delay=D    every answer (an echo, a subscribed) is sent D after its
//	           message arrived, and the feed's first quote D after the
//	           welcome ("250ms", or a bare number of milliseconds; at most 60s)
//	close=D    the server closes the session D after the handshake, with a
//	           close frame of ?code= (default 1000, normal closure)
//	status=N   the upgrade is refused with status N (400..599)
//	symbol=S   the feed's first symbol (default LGT)
//
// The server accepts the first subprotocol the client offers, and any
// Origin. It uses gorilla/websocket, the library of the engine's client
// (engine/internal/wsc).
//
// Concurrency: a Server is safe for concurrent use; each session runs on
// its handler's goroutine plus one reader. Close ends every session (close
// frame 1001, going away) and returns after each has exited: an
// http.Server's Shutdown does not wait for hijacked connections.
package wstarget

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Limits of the query parameters and of the messages read.
const (
	MaxDelay   = 60 * time.Second
	MaxRate    = 1000
	maxMessage = 1 << 20
	// writeWait bounds every write of the server.
	writeWait = 5 * time.Second
	// closeWait is how long the server waits for the peer's close frame
	// after sending its own.
	closeWait = time.Second
	// queue bounds the answers waiting for their time (?delay); a client
	// that sends faster than that waits for the reader.
	queue = 256
)

// Server is the WebSocket test server. Create it with New.
type Server struct {
	up  websocket.Upgrader
	mux *http.ServeMux

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup

	sessions atomic.Int64 // sessions opened
	messages atomic.Int64 // messages received from clients
}

// New returns a Server.
func New() *Server {
	s := &Server{mux: http.NewServeMux()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.up = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	s.mux.Handle("GET /ws/echo", s.Echo())
	s.mux.Handle("GET /ws/feed", s.Feed())
	return s
}

// Handler serves /ws/echo and /ws/feed.
func (s *Server) Handler() http.Handler { return s.mux }

// Echo is the echo, for mounting at any path.
func (s *Server) Echo() http.Handler { return s.handler(false) }

// Feed is the feed, for mounting at any path.
func (s *Server) Feed() http.Handler { return s.handler(true) }

// Sessions is the number of sessions opened so far.
func (s *Server) Sessions() int64 { return s.sessions.Load() }

// Messages is the number of messages received from clients so far.
func (s *Server) Messages() int64 { return s.messages.Load() }

// Close ends every session with a close frame (1001, going away), refuses
// new ones (503), and returns once every session has exited. It is
// idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// params are a session's query parameters.
type params struct {
	delay, close time.Duration
	closing      bool // close was given
	code         int
	status       int
	rate         int
	symbol       string
}

func parseParams(r *http.Request) (params, error) {
	q := r.URL.Query()
	p := params{code: websocket.CloseNormalClosure, rate: 10, symbol: "LGT"}
	var err error
	if v := q.Get("delay"); v != "" {
		if p.delay, err = duration(v); err != nil {
			return p, fmt.Errorf("delay: %w", err)
		}
	}
	if v := q.Get("close"); v != "" {
		if p.close, err = duration(v); err != nil {
			return p, fmt.Errorf("close: %w", err)
		}
		p.closing = true
	}
	if v := q.Get("code"); v != "" {
		if p.code, err = strconv.Atoi(v); err != nil || p.code < 1000 || p.code > 4999 {
			return p, fmt.Errorf("code %q: want 1000..4999", v)
		}
	}
	if v := q.Get("status"); v != "" {
		if p.status, err = strconv.Atoi(v); err != nil || p.status < 400 || p.status > 599 {
			return p, fmt.Errorf("status %q: want 400..599", v)
		}
	}
	if v := q.Get("rate"); v != "" {
		if p.rate, err = strconv.Atoi(v); err != nil || p.rate < 1 || p.rate > MaxRate {
			return p, fmt.Errorf("rate %q: want 1..%d", v, MaxRate)
		}
	}
	if v := q.Get("symbol"); v != "" {
		p.symbol = v
	}
	return p, nil
}

// duration reads "250ms" or a bare number of milliseconds, 0..MaxDelay.
func duration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err2 := strconv.Atoi(v)
		if err2 != nil {
			return 0, fmt.Errorf("%q: want a duration such as 250ms", v)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d < 0 || d > MaxDelay {
		return 0, fmt.Errorf("%q: want 0..%v", v, MaxDelay)
	}
	return d, nil
}

func (s *Server) handler(feed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parseParams(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if p.status != 0 {
			http.Error(w, "upgrade refused (status="+strconv.Itoa(p.status)+")", p.status)
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		var h http.Header
		if offered := websocket.Subprotocols(r); len(offered) > 0 {
			h = http.Header{"Sec-Websocket-Protocol": {offered[0]}}
		}
		c, err := s.up.Upgrade(w, r, h)
		if err != nil {
			return // the upgrader answered the client
		}
		n := s.sessions.Add(1)
		c.SetReadLimit(maxMessage)
		ss := &session{srv: s, c: c, p: p, id: "s-" + strconv.FormatInt(n, 10), feed: feed,
			out: make(chan answer, queue), stop: make(chan struct{}), readDone: make(chan struct{})}
		ss.run()
	})
}

// answer is a message to send at a time.
type answer struct {
	typ  int
	data []byte
	due  time.Time
	// symbol switches the feed's quotes when sent (a subscribed).
	symbol string
}

type session struct {
	srv  *Server
	c    *websocket.Conn
	p    params
	id   string
	feed bool
	out  chan answer
	// stop is closed when the writer returns; readDone when the reader did.
	stop, readDone chan struct{}
}

// run is the writer: it sends the answers at their time, the feed's
// quotes, and the close, until the session ends.
func (ss *session) run() {
	defer func() {
		close(ss.stop)
		ss.c.Close()
		<-ss.readDone
	}()
	go ss.read()
	start := time.Now()
	symbol := ss.p.symbol
	var tick <-chan time.Time
	if ss.feed {
		if !ss.write(websocket.TextMessage, jsonMsg(map[string]any{"type": "welcome", "session": ss.id, "symbol": symbol})) {
			return
		}
		first := time.NewTimer(ss.p.delay)
		defer first.Stop()
		select {
		case <-first.C:
		case <-ss.srv.ctx.Done():
			ss.closeWith(websocket.CloseGoingAway, "server shutting down")
			return
		case <-ss.readDone:
			return
		}
		t := time.NewTicker(time.Second / time.Duration(ss.p.rate))
		defer t.Stop()
		tick = t.C
	}
	var closeC <-chan time.Time
	if ss.p.closing {
		ct := time.NewTimer(time.Until(start.Add(ss.p.close)))
		defer ct.Stop()
		closeC = ct.C
	}
	due := time.NewTimer(time.Hour)
	due.Stop()
	defer due.Stop()
	var pending *answer
	seq := 0
	for {
		var outC <-chan answer
		var dueC <-chan time.Time
		if pending == nil {
			outC = ss.out
		} else {
			dueC = due.C
		}
		select {
		case a := <-outC:
			pending = &a
			due.Reset(time.Until(a.due))
		case <-dueC:
			if !ss.write(pending.typ, pending.data) {
				return
			}
			if pending.symbol != "" {
				symbol = pending.symbol
			}
			pending = nil
		case <-tick:
			seq++
			price := 100 + float64((seq*7919)%10000)/100
			if !ss.write(websocket.TextMessage, jsonMsg(map[string]any{"type": "quote", "seq": seq, "symbol": symbol, "price": price})) {
				return
			}
		case <-closeC:
			ss.closeWith(ss.p.code, "closed by the server (close="+ss.p.close.String()+")")
			return
		case <-ss.srv.ctx.Done():
			ss.closeWith(websocket.CloseGoingAway, "server shutting down")
			return
		case <-ss.readDone:
			return // the client closed, or the connection broke
		}
	}
}

func (ss *session) write(typ int, data []byte) bool {
	_ = ss.c.SetWriteDeadline(time.Now().Add(writeWait))
	return ss.c.WriteMessage(typ, data) == nil
}

// closeWith sends a close frame and waits a little for the client's.
func (ss *session) closeWith(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	if ss.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait)) != nil {
		return
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-ss.readDone:
	case <-t.C:
	}
}

// read receives the client's messages and queues their answers.
func (ss *session) read() {
	defer close(ss.readDone)
	for {
		typ, data, err := ss.c.ReadMessage()
		if err != nil {
			return
		}
		ss.srv.messages.Add(1)
		a := answer{typ: typ, data: data, due: time.Now().Add(ss.p.delay)}
		if ss.feed {
			a.typ = websocket.TextMessage
			a.data, a.symbol = feedAnswer(data)
		}
		select {
		case ss.out <- a:
		case <-ss.stop:
			return
		}
	}
}

// feedAnswer is the feed's answer to a client message, and the symbol it
// subscribes to ("" when it does not).
func feedAnswer(data []byte) ([]byte, string) {
	var m struct {
		Op     string `json:"op"`
		Symbol string `json:"symbol"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return jsonMsg(map[string]any{"type": "error", "error": "not JSON: " + err.Error()}), ""
	}
	if m.Op != "subscribe" || m.Symbol == "" {
		return jsonMsg(map[string]any{"type": "error", "error": `want {"op":"subscribe","symbol":"..."}`}), ""
	}
	return jsonMsg(map[string]any{"type": "subscribed", "symbol": m.Symbol}), m.Symbol
}

func jsonMsg(v map[string]any) []byte {
	b, _ := json.Marshal(v)
	return b
}
