package engine

import "time"

// WSSession is a WebSocket step (Step.Protocol ProtoWS) as declarative
// data: each execution of the step opens one session over its own
// connection to Step.URL (ws:// or wss://), with Step.Headers on the
// opening handshake, which must end within Step.Timeout; runs Exchanges in
// order; and closes with a normal closure (1000), at once after the last
// exchange or CloseAfter after the handshake.
//
// The checks of the exchanges' expectations are Step.Checks, and their
// captures Step.Captures, each exchange taking the next Checks and Captures
// of them in order, so that the checks metric and the plan's capture names
// work as for HTTP steps.
type WSSession struct {
	// Subprotocols are offered in the handshake, in order of preference.
	Subprotocols []string
	// Exchanges run in order once the session is open.
	Exchanges []WSExchange
	// Ping sends a ping frame this often while the session is open; 0
	// sends none. Pongs are not waited for.
	Ping time.Duration
	// CloseAfter keeps the session open this long after its handshake,
	// counting the messages that arrive, then closes it; an exchange still
	// waiting then fails (a timeout), and a peer that closes before it
	// fails the session (ws_closed). 0 closes the session right after its
	// last exchange. When the run stops, a session that only waits for
	// CloseAfter closes at once.
	CloseAfter time.Duration
}

// WSExchange sends its messages, then, with Expect, waits for a message
// of the peer that passes its checks; messages that do not are counted
// and skipped.
type WSExchange struct {
	Send []WSMessage
	// Expect makes the exchange wait for a matching message.
	Expect bool
	// Within is how long the wait may take, from the send (from the start
	// of the wait when the exchange sends nothing); 0 is Step.Timeout.
	Within time.Duration
	// Checks is how many of Step.Checks (the next ones, after those of
	// earlier exchanges) a message must pass to match: json and
	// body_contains checks on the message's text; none matches any
	// message.
	Checks int
	// Captures is how many of Step.Captures (the next ones) take values
	// from the matched message: json or regex, for the later exchanges
	// and steps.
	Captures int
}

// WSMessage is one text message to send: Text may hold templates, whose
// values are escaped by Escape (EscapeJSON for a json: message, whose
// templates are inside strings; EscapeNone for text).
type WSMessage struct {
	Text   string
	Escape Escape
}
