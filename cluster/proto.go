// Package cluster runs a plan on several hosts: agents (agent.go) run their
// segment of the arrivals with the local engine and stream interval
// snapshots back; a coordinator (coord.go) dials them, ships the plan,
// starts them together, merges their intervals exactly and publishes the
// merged snapshots to the same observers as a local run.
//
// The control protocol is one connection per agent, opened by the
// coordinator, carrying frames: a 4-byte big-endian payload length, a
// 1-byte message type and a JSON payload. Only declarative data travels
// towards the agent (the plan, never code); only aggregates travel back
// (histograms, counters, error classes, short messages). Every payload is
// a wire type of this package whose keys are spelled by tags, never an
// engine type: the messages here, the plan (planwire.go) and the
// intervals (codec.go). testdata/plan_*.json pins the plan's bytes.
package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// Protocol is the version of the control protocol. The handshake refuses a
// peer of another version: a plan or an interval may not mean the same
// thing to both ends. 2: plans carry flow logic (a step's Logic, a flow's
// Groups), which an agent of protocol 1 would drop and run every step once;
// everything else is as protocol 1 numbered it (planwire.go).
const Protocol = 2

// handshakeFrame caps a frame's payload before the peer is trusted (the
// agent has not checked the token, the coordinator has not been welcomed):
// a hello or a pong is tiny, and nobody unauthenticated may make an end
// hold megabytes.
const handshakeFrame = 64 << 10

// MaxFrame caps a frame's payload. A plan with large feeders or an interval
// of a plan with many steps fits comfortably; anything larger is a
// misbehaving peer and is refused before its payload is read.
const MaxFrame = 16 << 20

// Timing of the control channel.
const (
	// HeartbeatEvery is how often each end sends a heartbeat.
	HeartbeatEvery = time.Second
	// PeerTimeout is how long an end waits without any frame before it
	// declares the other end lost. An agent stops its load then, so a lost
	// coordinator stops the load within PeerTimeout (well under 10 s).
	PeerTimeout = 5 * time.Second
	// writeTimeout bounds one frame write.
	writeTimeout = 5 * time.Second
)

// msgType is the type byte of a frame.
type msgType uint8

// Message types. C→A travels from the coordinator to an agent, A→C back.
const (
	msgHello     msgType = iota + 1 // C→A hello: version, token, run
	msgWelcome                      // A→C welcome: accepted, the agent's name
	msgRefuse                       // A→C refuse: why not (auth, busy, version, target, cap, plan)
	msgPing                         // C→A ping: round-trip measurement
	msgPong                         // A→C pong: the ping's time echoed
	msgPlan                         // C→A planMsg: the plan and the agent's segment
	msgReady                        // A→C ready: the plan is accepted and its targets reachable
	msgStart                        // C→A start: start after a delay
	msgInterval                     // A→C interval: one interval snapshot
	msgHeartbeat                    // both: still here
	msgStop                         // C→A stop: stop the load now
	msgDone                         // A→C done: final totals; the agent closes after it
	msgLast                         // one past the last type
)

var msgNames = [...]string{"", "hello", "welcome", "refuse", "ping", "pong", "plan", "ready", "start", "interval", "heartbeat", "stop", "done"}

func (t msgType) String() string {
	if t == 0 || t >= msgLast {
		return fmt.Sprintf("message type %d", uint8(t))
	}
	return msgNames[t]
}

// hello opens a session: the coordinator's versions, its token, and the run
// it wants to start (named in the agent's audit line and in "busy").
type hello struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"`
	Token    string `json:"token"`
	Run      string `json:"run"`
}

// welcome accepts a hello.
type welcome struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"`
	Name     string `json:"name"` // the agent's host name
}

// Refusal codes: why an agent refused a hello or a plan.
const (
	RefuseAuth    = "auth"    // wrong or missing token
	RefuseVersion = "version" // another protocol version
	RefuseBusy    = "busy"    // another run is in progress (Reason names it)
	RefuseTarget  = "target"  // a target is not on the allow-list or unreachable
	RefuseCap     = "cap"     // the plan exceeds the agent's caps
	RefusePlan    = "plan"    // the plan is invalid
)

// refuse declines a hello or a plan; the agent closes the connection after.
type refuse struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// ping and pong measure the round trip: the agent echoes T.
type ping struct {
	T int64 `json:"t"` // coordinator's monotonic clock, ns
}

// planMsg ships the plan with the agent's segment already set, in its
// wire form (planwire.go).
type planMsg struct {
	Plan *wirePlan   `json:"plan"`
	TLS  *TLSOptions `json:"tls,omitempty"`
}

// TLSOptions is the scenario's TLS section as data, for agents that cannot
// read the scenario's files: certificate contents, never paths.
type TLSOptions struct {
	CAPEM              []byte `json:"ca_pem,omitempty"`
	CertPEM            []byte `json:"cert_pem,omitempty"`
	KeyPEM             []byte `json:"key_pem,omitempty"`
	ServerName         string `json:"server_name,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
	MinVersion         uint16 `json:"min_version,omitempty"`
}

// WireTLS is o as the plan message carries it; nil for nil.
func WireTLS(o *engine.TLSOptions) *TLSOptions {
	if o == nil {
		return nil
	}
	return &TLSOptions{CAPEM: o.CAPEM, CertPEM: o.CertPEM, KeyPEM: o.KeyPEM, ServerName: o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify, MinVersion: o.MinVersion}
}

// Options is o as the engine builds it; nil for nil.
func (o *TLSOptions) Options() *engine.TLSOptions {
	if o == nil {
		return nil
	}
	return &engine.TLSOptions{CAPEM: o.CAPEM, CertPEM: o.CertPEM, KeyPEM: o.KeyPEM, ServerName: o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify, MinVersion: o.MinVersion}
}

// start tells the agent to start its load Delay after receiving the frame.
type start struct {
	Delay time.Duration `json:"delay_ns"`
}

// intervalMsg is one of the agent's snapshots, the interval alone: the
// coordinator's total is the sum of the intervals.
type intervalMsg struct {
	Seq          int         `json:"seq"`
	Final        bool        `json:"final,omitempty"`
	Period       *wirePeriod `json:"period"`
	InFlight     int64       `json:"in_flight"`
	Waiting      int64       `json:"waiting,omitempty"` // arrivals waiting for a free slot
	PlannedTotal int64       `json:"planned_total"`
	// Errors holds the first message of each failure kind, indexed by
	// kind, shortened; only the agent's own classification travels.
	Errors []string `json:"errors,omitempty"`
}

// stopMsg asks the agent to stop its load: abort, Ctrl-C, or another agent
// refusing before the start.
type stopMsg struct {
	Reason string `json:"reason"`
}

// doneMsg ends a run: the agent's totals, which the coordinator checks
// against the intervals it merged.
type doneMsg struct {
	Requests  int64  `json:"requests"`
	Started   int64  `json:"started"`
	Intervals int    `json:"intervals"`
	Exhausted string `json:"exhausted,omitempty"` // the plan ran out of data
	Stopped   string `json:"stopped,omitempty"`   // why the agent's run stopped early
}

// A FrameError is a frame that breaks the protocol; the connection is
// closed after it.
type FrameError struct{ Reason string }

func (e *FrameError) Error() string { return "protocol violation: " + e.Reason }

func violation(format string, a ...any) error {
	return &FrameError{Reason: fmt.Sprintf(format, a...)}
}

// frameConn is one end of the control connection. Writes are serialised
// (heartbeats and intervals come from different goroutines); reads belong
// to one goroutine.
type frameConn struct {
	c     net.Conn
	r     *bufio.Reader
	limit int // payload cap of the frames read: handshakeFrame until trust
	wmu   sync.Mutex
	buf   []byte
}

func newFrameConn(c net.Conn) *frameConn {
	return &frameConn{c: c, r: bufio.NewReaderSize(c, 64<<10), limit: handshakeFrame}
}

// trust lifts the frame cap to MaxFrame once the peer is authenticated.
func (fc *frameConn) trust() { fc.limit = MaxFrame }

// send writes one frame carrying v as JSON.
func (fc *frameConn) send(t msgType, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(payload) > MaxFrame {
		return fmt.Errorf("%s frame of %d bytes exceeds the %d-byte limit", t, len(payload), MaxFrame)
	}
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	fc.buf = appendFrame(fc.buf[:0], t, payload)
	fc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err = fc.c.Write(fc.buf)
	return err
}

func appendFrame(b []byte, t msgType, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, byte(t))
	return append(b, payload...)
}

// recv reads one frame, waiting at most timeout for it.
func (fc *frameConn) recv(timeout time.Duration) (msgType, []byte, error) {
	fc.c.SetReadDeadline(time.Now().Add(timeout))
	return readFrame(fc.r, fc.limit)
}

// readFrame reads one frame of at most max payload bytes. The length is
// checked before anything is allocated, and the type before the payload is
// read, so a rogue peer cannot make the reader hold more than max bytes.
func readFrame(r io.Reader, max int) (msgType, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[:4])
	t := msgType(head[4])
	if n > uint32(max) {
		return 0, nil, violation("%s frame of %d bytes exceeds the %d-byte limit", t, n, max)
	}
	if t == 0 || t >= msgLast {
		return 0, nil, violation("unknown %s", t)
	}
	// Memory follows the bytes that actually arrive, not the length a peer
	// announces.
	var b bytes.Buffer
	b.Grow(int(min(n, 64<<10)))
	if _, err := io.CopyN(&b, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return t, b.Bytes(), nil
}

// decode unmarshals a payload of type t into v.
func decode(t msgType, payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return violation("bad %s payload: %v", t, err)
	}
	return nil
}

// expect reads the next frame, which must be of type want (or a refusal,
// returned as a *RefusedError), and decodes it into v.
func (fc *frameConn) expect(timeout time.Duration, want msgType, v any) error {
	t, payload, err := fc.recv(timeout)
	if err != nil {
		return err
	}
	if t == msgRefuse && want != msgRefuse {
		var r refuse
		if err := decode(t, payload, &r); err != nil {
			return err
		}
		return &RefusedError{Code: r.Code, Reason: r.Reason}
	}
	if t != want {
		return violation("got %s, want %s", t, want)
	}
	return decode(t, payload, v)
}

// RefusedError is an agent's refusal of a hello or a plan.
type RefusedError struct {
	Code, Reason string
}

func (e *RefusedError) Error() string { return "refused (" + e.Code + "): " + e.Reason }
