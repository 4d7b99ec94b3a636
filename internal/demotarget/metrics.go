package demotarget

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the target's own server-side view, served on GET /metrics
// from a private registry, so that a scenario can gate on the server's
// measurements (sli: prometheus:) next to loadgate's:
//
//	target_http_requests_total{path,code}          requests by route pattern and status code
//	target_http_request_duration_seconds{path}     handling time by route pattern
//	process_cpu_seconds_total, process_*           the process's CPU and memory
//
// path is the route pattern ("/items/{id}"), never the raw URL, so the
// series stay few. In `loadgate demo` the target runs inside the loadgate
// process, so its process_* metrics include the generator's own work.
type metrics struct {
	reg  *prometheus.Registry
	reqs *prometheus.CounterVec
	dur  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "target_http_requests_total", Help: "Requests handled by the demo target, by route pattern and status code.",
		}, []string{"path", "code"}),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "target_http_request_duration_seconds", Help: "Time the demo target took to answer, by route pattern.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"path"}),
	}
	m.reg.MustRegister(m.reqs, m.dur, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// instrument wraps the handler of route pattern path to count and time it.
func (m *metrics) instrument(path string, h http.Handler) http.Handler {
	l := prometheus.Labels{"path": path}
	return promhttp.InstrumentHandlerDuration(m.dur.MustCurryWith(l),
		promhttp.InstrumentHandlerCounter(m.reqs.MustCurryWith(l), h))
}

// handler serves the exposition.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
