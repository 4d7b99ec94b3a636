package demotarget

import (
	"encoding/hex"
	"hash/fnv"
	"math"
	"time"
)

// logNormal returns median·exp(sigma·Z) for a standard normal Z, capped at limit.
// It is pure given z, so the distribution can be tested without a clock.
func logNormal(z float64, median time.Duration, sigma float64, limit time.Duration) time.Duration {
	d := time.Duration(float64(median) * math.Exp(sigma*z))
	if d > limit || d < 0 { // d < 0 only on overflow of a huge draw
		return limit
	}
	return d
}

// drawDelay draws a log-normal delay around median from the server's generator.
func (s *Server) drawDelay(median time.Duration, sigma float64) time.Duration {
	s.mu.Lock()
	z := s.rng.NormFloat64()
	s.mu.Unlock()
	return logNormal(z, time.Duration(float64(median)*s.opt.LatencyScale), sigma, s.opt.MaxDelay)
}

// fail reports true with probability p.
func (s *Server) fail(p float64) bool {
	if p <= 0 {
		return false
	}
	s.mu.Lock()
	u := s.rng.Float64()
	s.mu.Unlock()
	return u < p
}

// token returns 32 hex characters drawn from the server's generator.
func (s *Server) token() string {
	var b [16]byte
	s.mu.Lock()
	for i := 0; i < len(b); i += 8 {
		v := s.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	s.mu.Unlock()
	return hex.EncodeToString(b[:])
}

// hash64 is a stable hash of s; items and search results are pure functions of
// their inputs so that the same query always returns the same page.
func hash64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}
