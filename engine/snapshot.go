package engine

import (
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// Kind classifies the outcome of a request. The hot path counts kinds; it
// never builds an error string per request.
type Kind uint8

// Request outcome kinds. KindNone is a success.
const (
	KindNone           Kind = iota
	KindRefused             // connection refused
	KindReset               // connection reset by peer
	KindTimeout             // the request's total deadline passed
	KindDNS                 // name resolution failed
	KindTLS                 // TLS handshake or certificate failure
	KindNoFreeConn          // the connection pool was exhausted (fasthttp ErrNoFreeConns)
	KindClosed              // the server closed the connection before a full response
	KindLocalPort           // no local ephemeral port left (EADDRNOTAVAIL)
	KindFD                  // no file descriptor left (EMFILE/ENFILE)
	KindStatus4xx           // a 4xx status the step does not accept
	KindStatus5xx           // a 5xx status the step does not accept
	KindStatus              // another status the step does not accept
	KindOther               // anything else
	KindTruncated           // the connection ended inside the body its head announced
	KindHeaderTooLarge      // the response head did not fit the read buffer (8 KiB)
	KindProtocol            // a malformed response (chunk framing, endless 1xx, trailers)
	KindCapture             // a capture found nothing in the response; the iteration stopped
	KindRedirectLimit       // more redirects than the step's max_redirects
	KindDenied              // the dial was refused by the host's target allow-list (a distributed agent's)
	// KindNoFreeSlot is an arrival that found max_in_flight iterations
	// running, every one busy since before it was due: dropped (overload:
	// drop) or still waiting when the load ended (overload: wait). It was
	// never sent; it counts as a failed request of its flow's first step.
	KindNoFreeSlot
	// KindGRPCCanceled .. KindGRPCUnauthenticated are gRPC calls that
	// ended with that status code (1..16, in the codes' order): the
	// server's answer, or the client's for DEADLINE_EXCEEDED and a
	// transport the call could not use (UNAVAILABLE). KindOfGRPCCode maps
	// a code to its kind.
	KindGRPCCanceled
	KindGRPCUnknown
	KindGRPCInvalidArgument
	KindGRPCDeadlineExceeded
	KindGRPCNotFound
	KindGRPCAlreadyExists
	KindGRPCPermissionDenied
	KindGRPCResourceExhausted
	KindGRPCFailedPrecondition
	KindGRPCAborted
	KindGRPCOutOfRange
	KindGRPCUnimplemented
	KindGRPCInternal
	KindGRPCUnavailable
	KindGRPCDataLoss
	KindGRPCUnauthenticated
	// KindWSHandshake is a WebSocket upgrade the server refused (any
	// answer but 101 Switching Protocols).
	KindWSHandshake
	// KindWSClosed is a WebSocket session the peer closed before the
	// message the step waited for came.
	KindWSClosed
	NumKinds
)

// KindOfGRPCCode is the kind of a gRPC status code: KindNone for OK (0),
// KindOther for a code gRPC does not define.
func KindOfGRPCCode(code uint32) Kind {
	switch {
	case code == 0:
		return KindNone
	case code <= 16:
		return KindGRPCCanceled + Kind(code-1)
	}
	return KindOther
}

var kindNames = [NumKinds]string{
	"ok", "refused", "reset", "timeout", "dns", "tls", "no_free_conn", "closed",
	"local_port", "fd", "4xx", "5xx", "status", "other", "truncated", "header_too_large", "protocol",
	"capture", "redirect_limit", "denied", "no_free_slot",
	"grpc_canceled", "grpc_unknown", "grpc_invalid_argument", "grpc_deadline_exceeded",
	"grpc_not_found", "grpc_already_exists", "grpc_permission_denied", "grpc_resource_exhausted",
	"grpc_failed_precondition", "grpc_aborted", "grpc_out_of_range", "grpc_unimplemented",
	"grpc_internal", "grpc_unavailable", "grpc_data_loss", "grpc_unauthenticated",
	"ws_handshake", "ws_closed",
}

// String is the kind's name in reports.
func (k Kind) String() string {
	if k >= NumKinds {
		return "other"
	}
	return kindNames[k]
}

// Local reports whether the kind is a failure of the generator's own host,
// which makes the measurement untrustworthy rather than the target slow.
func (k Kind) local() bool { return k == KindLocalPort || k == KindFD }

// NumStatusClasses is the size of status-class arrays: index 0 counts
// requests without a response, 1..5 count 1xx..5xx.
const NumStatusClasses = 6

// statusClass maps an HTTP status to its class index (0 = no response).
func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// StatusClassName is the tag value of a class index: "2xx", or "none".
func StatusClassName(c int) string {
	if c <= 0 || c >= NumStatusClasses {
		return "none"
	}
	return string(rune('0'+c)) + "xx"
}

// StepStats is what was measured for one step over a period.
type StepStats struct {
	Duration    *histogram.Histogram // http_req_duration: end - intended send
	ServiceTime *histogram.Histogram // http_req_service_time: end - actual send
	// ByClass holds http_req_duration per status class; nil entries unless
	// Plan.StatusTrends.
	ByClass       [NumStatusClasses]*histogram.Histogram
	Requests      int64                   // http_reqs
	Failed        int64                   // http_req_failed hits
	Status        [NumStatusClasses]int64 // requests per status class
	FailedByClass [NumStatusClasses]int64 // failed requests per status class
	Errors        [NumKinds]int64         // requests per outcome kind
	ChecksPassed  int64
	ChecksTotal   int64
	// Checks counts each check of the step (as Step.Checks); nil in
	// FlowTotals and All, which sum steps with different checks.
	Checks []CheckCount
	// GRPCMsgs counts the response messages of a gRPC step's calls
	// (grpc_msgs_received): one per unary call answered, each message of a
	// server stream. Distributed runs do not carry it (they refuse gRPC).
	GRPCMsgs int64
	// WS is what a WebSocket step measured beyond its sessions, which are
	// its requests (Duration, ServiceTime, Requests, Failed, Errors); zero
	// for the steps of other protocols.
	WS WSStats
}

// WSStats is what the sessions of a WebSocket step measured
// (docs/metrics.md, WebSocket).
type WSStats struct {
	// Connect is ws_connect_duration: the handshake's end − the intended
	// time of the step.
	Connect *histogram.Histogram
	// Msg is ws_msg_duration: a matching message − when its exchange was
	// due (the step's intended time for the first exchange, the end of the
	// one before for the others); MsgService is ws_msg_service_time: the
	// matching message − the exchange's actual send.
	Msg, MsgService *histogram.Histogram
	// MsgsReceived and MsgsSent count data messages (ws_msgs_received,
	// ws_msgs_sent).
	MsgsReceived, MsgsSent int64
	// Expected counts the expectations of the sessions, Missed those that
	// no message met (ws_msg_failed): a timeout, the session closed or
	// failed before, or the handshake refused.
	Expected, Missed int64
}

// CheckCount is how often one check held.
type CheckCount struct {
	Passed, Total int64
}

// FlowStats is what was measured for one flow over a period.
type FlowStats struct {
	Iterations int64                // iterations completed
	Duration   *histogram.Histogram // iteration_duration, from the intended start
}

// Period holds the measurements of a span of the run. Every histogram in it
// is owned by the Period and never written after publication. A nil
// histogram means no values were recorded.
type Period struct {
	Start, End time.Duration // offsets from the run's start
	Steps      [][]StepStats // [flow][step], shaped as Plan.Flows
	// FlowTotals[f] sums the steps of flow f and All sums every step,
	// merged once by the collector so that readers of whole-flow or
	// whole-run metrics merge nothing.
	FlowTotals []StepStats
	All        *StepStats
	Flows      []FlowStats // per flow
	// Lag is schedule_lag: how late the generator started arrivals that
	// had a free slot (start − intended, less SlotWait).
	Lag *histogram.Histogram
	// SlotWait is slot_wait: how long each started arrival waited for a
	// free slot (max_in_flight full of slow responses; 0 when it had one).
	// It is the target's doing, not the generator's.
	SlotWait *histogram.Histogram
	Planned  int64 // arrivals due by the schedule in this span (this segment's share)
	Started  int64 // iterations started
	// Dropped counts arrivals that found no free slot (KindNoFreeSlot):
	// skipped (Overload Drop), or still waiting when the load ended.
	Dropped int64
	// Cancelled counts requests still in flight when the grace period
	// after the end of the load ran out: cut off, and not recorded as
	// requests (their outcome is unknown).
	Cancelled int64
	// BytesSent and BytesReceived are counted on the connections, so they
	// are exact wire bytes (headers, bodies, TLS records) and carry no tags.
	BytesSent, BytesReceived int64
}

// Snapshot is published once per interval to every Observer. It and
// everything it points to is immutable: observers may keep it.
type Snapshot struct {
	Seq      int       // 1, 2, ... in order
	Time     time.Time // wall clock at the end of the interval (a label only)
	Interval *Period   // this interval alone
	Total    *Period   // the run so far
	InFlight int64     // iterations running when the snapshot was taken
	// PlannedTotal is the number of arrivals of the whole planned run (this
	// segment's share), for progress and achieved/planned ratios.
	PlannedTotal int64
	// ErrorSamples holds the first message seen for each failure kind.
	ErrorSamples [NumKinds]string
	// Waiting is the number of arrivals due and not started because every
	// slot (max_in_flight) was busy when the snapshot was taken: the
	// target's backlog, not the generator's.
	Waiting int64
	// StoppedAt is the offset at which the load stopped starting requests
	// (the profile's end, a signal, an abort, data run out); 0 while it
	// runs. Total.End - StoppedAt is how long requests in flight drained.
	StoppedAt time.Duration
	// Final is set on the last snapshot of a run.
	Final bool
	// Clock is the timer that paced the run: ClockKernel, or ClockGo where
	// there is none (or a test asked for Go timers). Empty when unknown (a
	// distributed run's merged snapshots).
	Clock string
	// ClockFallback says why a run that should have had the kernel timer
	// waits on Go timers instead (arrivals then start up to ~1 ms late);
	// empty otherwise.
	ClockFallback string
	// Wakeups is how many times the run's clock woke the process to start
	// arrivals, end think times or take deferred reads, and WakeLate how
	// late each wake-up came after the instant it was due: the host's
	// timer latency, which schedule_lag adds to the slack. Set on the
	// final snapshot only; zero and nil when unknown (a distributed run's
	// merged snapshots).
	Wakeups  int64
	WakeLate *histogram.Histogram
}

// The timers that pace a run (docs/metrics.md: generator.clock).
const (
	ClockKernel = "timerfd"  // a Linux timerfd: wake-ups within the kernel's timer slack
	ClockGo     = "go-timer" // the Go runtime's timers: epoll's 1 ms resolution
)

// Observer receives every snapshot, in order, from one goroutine. Observe
// must return quickly: it runs on the collector's goroutine.
type Observer interface {
	Observe(s *Snapshot)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(s *Snapshot)

// Observe calls f(s).
func (f ObserverFunc) Observe(s *Snapshot) { f(s) }
