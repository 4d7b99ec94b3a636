package demotarget

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Route indexes, for the per-route counters. The names are the mux patterns
// without their method, which is what RequestsByPath reports.
const (
	routeRoot = iota
	routeSearch
	routeItem
	routeLogin
	routeCheckout
	routeSlow
	routeFlaky
	routeStatus
	routeDelay
	routeHealth
	routeQueue
	routeWSEcho
	routeWSFeed
	routeOther
	numRoutes
)

var routeNames = [numRoutes]string{
	routeRoot:     "/",
	routeSearch:   "/search",
	routeItem:     "/items/{id}",
	routeLogin:    "/login",
	routeCheckout: "/checkout",
	routeSlow:     "/slow",
	routeFlaky:    "/flaky",
	routeStatus:   "/status/{code}",
	routeDelay:    "/delay/{duration}",
	routeHealth:   "/health",
	routeQueue:    "/queue/{workers}/{service}",
	routeWSEcho:   "/ws/echo",
	routeWSFeed:   "/ws/feed",
	routeOther:    "other",
}

// maxBody bounds the request bodies the target reads.
const maxBody = 1 << 20

// routes builds the mux. Every handler is wrapped to count its route.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(method string, route int, h http.HandlerFunc) {
		pattern := routeNames[route]
		if route == routeRoot {
			pattern = "/{$}"
		}
		mux.Handle(method+" "+pattern, s.count(route, h))
	}
	handle("GET", routeRoot, s.handleRoot)
	handle("GET", routeSearch, s.handleSearch)
	handle("GET", routeItem, s.handleItem)
	handle("POST", routeLogin, s.handleLogin)
	handle("POST", routeCheckout, s.handleCheckout)
	handle("GET", routeSlow, s.handleSlow)
	handle("GET", routeFlaky, s.handleFlaky)
	handle("GET", routeStatus, s.handleStatus)
	handle("GET", routeDelay, s.handleDelay)
	handle("GET", routeHealth, s.handleHealth)
	handle("GET", routeQueue, s.handleQueue)
	// WebSocket sessions (internal/wstarget) are counted, not timed: a
	// session's length is the client's choice, not a latency.
	for route, h := range map[int]http.Handler{routeWSEcho: s.ws.Echo(), routeWSFeed: s.ws.Feed()} {
		mux.Handle("GET "+routeNames[route], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.total.Add(1)
			s.counts[route].Add(1)
			h.ServeHTTP(w, r)
		}))
	}
	// Everything else (unknown paths, wrong methods) still counts, as "other".
	mux.Handle("/", s.count(routeOther, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	}))
	// The target's own metrics; scrapes are not counted as requests.
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}

// count wraps h to increment the total and route counters and the route's
// /metrics series.
func (s *Server) count(route int, h http.HandlerFunc) http.Handler {
	return s.metrics.instrument(routeNames[route], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.total.Add(1)
		s.counts[route].Add(1)
		h(w, r)
	}))
}

const rootHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>loadgate demo target</title></head>
<body><h1>loadgate demo target</h1>
<p>Try <a href="/search?q=shoes">/search?q=shoes</a>, <a href="/items/42">/items/42</a>,
<a href="/slow">/slow</a>, <a href="/flaky">/flaky</a>, <a href="/health">/health</a>.</p>
</body></html>
`

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(rootHTML)))
	_, _ = io.WriteString(w, rootHTML)
}

// Item is one catalog entry, as served by /items/{id} and /search.
type Item struct {
	ID    int     `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
	Stock int     `json:"stock"`
}

// item returns catalog entry id; it is a pure function of id.
func item(id int) Item {
	h := hash64(strconv.Itoa(id))
	return Item{
		ID:    id,
		Name:  fmt.Sprintf("Item %d", id),
		Price: float64(100+h%9900) / 100, // 1.00 .. 99.99
		Stock: int(h>>32) % 50,
	}
}

// searchPage is the body of GET /search.
type searchPage struct {
	Query   string `json:"query"`
	Items   []Item `json:"items"`
	Results int    `json:"results"`
}

// search returns the result page for q: at least one result, at most 10 items per
// page, all pure functions of q.
func search(q string, catalog int) searchPage {
	h := hash64(q)
	n := 1 + int(h%100)
	page := min(n, 10)
	items := make([]Item, page)
	for i := range items {
		items[i] = item(1 + int((h>>8+uint64(i)*7919)%uint64(catalog)))
	}
	return searchPage{Query: q, Items: items, Results: n}
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	if s.sleep(r.Context(), s.drawDelay(s.opt.SearchMedian, searchSigma)) != nil {
		return // the client went away or the server is stopping
	}
	writeJSON(w, http.StatusOK, search(r.URL.Query().Get("q"), s.opt.CatalogSize))
}

func (s *Server) handleItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 1 || id > s.opt.CatalogSize {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
		return
	}
	writeJSON(w, http.StatusOK, item(id))
}

// loginRequest is the body POST /login accepts.
type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {\"user\":..,\"password\":..}"})
		return
	}
	if req.User == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "user is required"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": s.token(), "user": req.User})
}

func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	if s.sleep(r.Context(), s.drawDelay(s.opt.CheckoutMedian, checkoutSigma)) != nil {
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"order_id":   s.token()[:12],
		"status":     "created",
		"bytes_read": n,
	})
}

func (s *Server) handleSlow(w http.ResponseWriter, r *http.Request) {
	d := s.drawDelay(s.opt.SlowMedian, slowSigma)
	if s.sleep(r.Context(), d) != nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"slept_ms": float64(d) / 1e6})
}

func (s *Server) handleFlaky(w http.ResponseWriter, r *http.Request) {
	if s.fail(s.opt.FailRate) {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "flaky failure"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 200 || code > 599 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "code must be 200..599"})
		return
	}
	writeJSON(w, code, map[string]int{"status": code})
}

// parseDelay accepts a Go duration ("250ms", "1.5s") or a bare number of
// milliseconds ("250"), as thresholds do.
// Values beyond limit are clamped to limit; negative or non-finite values are errors.
func parseDelay(v string, limit time.Duration) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if ms, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(ms) || ms < 0 {
			return 0, fmt.Errorf("invalid delay %q", v)
		}
		if ms >= float64(limit)/float64(time.Millisecond) { // also catches +Inf
			return limit, nil
		}
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative delay %q", v)
	}
	return min(d, limit), nil
}

func (s *Server) handleDelay(w http.ResponseWriter, r *http.Request) {
	d, err := parseDelay(r.PathValue("duration"), s.opt.MaxDelay)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "duration must be like 250ms or 1.5s"})
		return
	}
	if s.sleep(r.Context(), d) != nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"delay_ms": float64(d) / 1e6})
}

// maxWorkers bounds the workers of a /queue service.
const maxWorkers = 10000

// handleQueue behaves like a service with a known capacity, for capacity
// searches and their tests (docs/capacity.md): GET /queue/8/10ms is served
// by 8 workers that each take 10 ms per request (?dist=exp: an exponential
// service time of that mean), first come first served. Past 8 / 10 ms =
// 800 requests/s the queue, and the latency, grow without bound: an
// M/D/c (or M/M/c) queue whose capacity is workers/service. Each
// workers/service pair is one queue, kept for the server's life.
func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request) {
	c, err := strconv.Atoi(r.PathValue("workers"))
	svc, err2 := parseDelay(r.PathValue("service"), s.opt.MaxDelay)
	exp := r.URL.Query().Get("dist") == "exp"
	if err != nil || err2 != nil || c < 1 || c > maxWorkers || svc <= 0 || (r.URL.Query().Has("dist") && !exp && r.URL.Query().Get("dist") != "fixed") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("want /queue/WORKERS/SERVICE with 1 to %d workers and a service time like 10ms, ?dist=fixed or exp", maxWorkers)})
		return
	}
	q := s.queue(c, svc)
	select {
	case q <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	d := svc
	if exp {
		s.mu.Lock()
		d = time.Duration(s.rng.ExpFloat64() * float64(svc))
		s.mu.Unlock()
	}
	err = s.sleep(r.Context(), min(d, s.opt.MaxDelay))
	<-q
	if err != nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"service_ms": float64(d) / 1e6})
}

// queue returns the semaphore of the service with c workers of svc each.
func (s *Server) queue(c int, svc time.Duration) chan struct{} {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	k := queueKey{c, svc}
	q, ok := s.queues[k]
	if !ok {
		q = make(chan struct{}, c)
		s.queues[k] = q
	}
	return q
}

type queueKey struct {
	workers int
	service time.Duration
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// writeJSON writes v as a JSON body with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own types are passed in; this is a bug
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
