package engine

// WSSession is the session a WebSocket step runs: declarative data only,
// like the rest of the plan.
type WSSession struct{}
