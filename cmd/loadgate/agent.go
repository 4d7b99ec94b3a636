package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loadgate/loadgate/internal/loopback"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/cluster"
)

func init() {
	helpExamples["agent"] = []string{
		"loadgate agent --token-file certs/token                        # 127.0.0.1:7070, loopback targets only",
		"loadgate agent --listen 0.0.0.0:7070 --token-file certs/token --tls-cert certs/agent.pem --tls-key certs/agent-key.pem \\",
		"    --client-ca certs/ca.pem --allow-target 10.0.4.0/24 --allow-target api.staging.example:443 --max-rate 2000",
		"LOADGATE_AGENT_TOKEN=$(cat certs/token) loadgate agent --max-duration 30m --max-in-flight 500",
	}
}

// agentFlags are the flags of loadgate agent.
type agentFlags struct {
	listen, tokenFile   string
	cert, key, clientCA string
	allow               []string
	maxRate             float64
	maxDuration         time.Duration
	maxInFlight         int
	maxBody             string
}

func (f *agentFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:"+agentPort, "address to serve coordinators on; off loopback it needs --tls-cert, --tls-key and --client-ca")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the shared token, at least 32 characters (else $"+agentTokenEnv+")")
	fs.StringVar(&f.cert, "tls-cert", "", "the agent's certificate (PEM) for mutual TLS")
	fs.StringVar(&f.key, "tls-key", "", "its private key (PEM)")
	fs.StringVar(&f.clientCA, "client-ca", "", "CA (PEM) that signs the coordinators' client certificates")
	fs.StringSliceVar(&f.allow, "allow-target", nil, "a target the agent may load: CIDR or HOST[:PORT]; repeatable (default: loopback only)")
	fs.Float64Var(&f.maxRate, "max-rate", 0, "refuse plans starting more iterations per second on this agent (0: no cap)")
	fs.DurationVar(&f.maxDuration, "max-duration", 0, "refuse plans whose load lasts longer (0: no cap)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 0, "refuse plans with more iterations in flight; the cap for plans without (0: no cap)")
	fs.StringVar(&f.maxBody, "max-body", "", "refuse request bodies larger than BYTES (e.g. 65536, 64KiB, 1MiB); response bytes kept for checks stop there too")
}

// agentCmd serves as a load agent for coordinators (cluster.Agent) until
// SIGINT or SIGTERM.
func agentCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("agent", "agent [--listen ADDR] --token-file F [--tls-cert F --tls-key F --client-ca F] [--allow-target CIDR|HOST[:PORT]]... [--max-rate R] [--max-duration D] [--max-in-flight N] [--max-body BYTES]", stdout, stderr)
	var f agentFlags
	f.register(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef(fmt.Sprintf("agent takes no arguments (got %q)", fs.Args()))
	}
	a, serverTLS, err := f.agent()
	if err != nil {
		return err
	}
	a.Audit, a.Log = stderr, stderr
	var ln net.Listener
	if serverTLS != nil {
		ln, err = tls.Listen("tcp", f.listen, serverTLS)
	} else {
		ln, err = net.Listen("tcp", f.listen)
	}
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	mode := "plaintext, loopback only"
	if serverTLS != nil {
		mode = "tls"
	}
	fmt.Fprintf(stderr, "loadgate agent: listening on %s (%s), allow-list: %s, caps: %s\n", ln.Addr(), mode, a.Allow, capsText(a.Caps))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Serve(ctx, ln); err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	fmt.Fprintln(stderr, "loadgate agent: stopped")
	return nil
}

// agent checks the flags and builds the agent and, with TLS, the
// listener's configuration. Every refusal is bad input: exit 2.
func (f *agentFlags) agent() (*cluster.Agent, *tls.Config, error) {
	given := 0
	for _, v := range []string{f.cert, f.key, f.clientCA} {
		if v != "" {
			given++
		}
	}
	if given != 0 && given != 3 {
		return nil, nil, usagef("--tls-cert, --tls-key and --client-ca go together: give all three (loadgate certs makes them)")
	}
	if err := checkAgentListen(f.listen, given == 3); err != nil {
		return nil, nil, err
	}
	token, err := readToken(f.tokenFile, "no token: give --token-file FILE or set "+agentTokenEnv+" (loadgate certs makes one; the coordinator needs the same)")
	if err != nil {
		return nil, nil, err
	}
	allow, err := cluster.ParseAllow(f.allow)
	if err != nil {
		return nil, nil, usagef("--" + strings.ReplaceAll(err.Error(), "\n", "\n--"))
	}
	caps, err := f.caps()
	if err != nil {
		return nil, nil, err
	}
	a := &cluster.Agent{Token: token, Allow: allow, Caps: caps, Version: version}
	if given == 3 {
		if a.TLS, err = agentTLS(f.cert, f.key, f.clientCA); err != nil {
			return nil, nil, err
		}
	}
	return a, a.TLS, nil
}

// checkAgentListen refuses a listen address off loopback without TLS: an
// agent anyone can reach and drive is an attack relay. The host is
// resolved; an empty host, 0.0.0.0 and :: listen everywhere.
func checkAgentListen(addr string, withTLS bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef(fmt.Sprintf("--listen %q: want HOST:PORT, e.g. 127.0.0.1:%s", addr, agentPort))
	}
	if withTLS {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	local, err := loopback.Resolves(ctx, net.DefaultResolver, host)
	if err != nil {
		return usagef(fmt.Sprintf("--listen %q: %v", addr, err))
	}
	if !local {
		return usagef(fmt.Sprintf("--listen %s is not a loopback address: off loopback an agent needs mutual TLS "+
			"(--tls-cert, --tls-key and --client-ca; loadgate certs makes them)", addr))
	}
	return nil
}

// agentTLS loads the agent's certificate and the coordinators' CA.
func agentTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, usagef(fmt.Sprintf("--tls-cert %s, --tls-key %s: %v", certFile, keyFile, err))
	}
	pool, err := readPool(caFile) // distributed.go
	if err != nil {
		return nil, usagef("--client-ca: " + err.Error())
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// caps checks the cap flags.
func (f *agentFlags) caps() (cluster.Caps, error) {
	c := cluster.Caps{MaxRate: f.maxRate, MaxDuration: f.maxDuration, MaxInFlight: f.maxInFlight}
	switch {
	case f.maxRate < 0 || f.maxRate != f.maxRate:
		return c, usagef(fmt.Sprintf("--max-rate %v: want a rate >= 0", f.maxRate))
	case f.maxDuration < 0:
		return c, usagef(fmt.Sprintf("--max-duration %v: want a duration >= 0", f.maxDuration))
	case f.maxInFlight < 0:
		return c, usagef(fmt.Sprintf("--max-in-flight %d: want a number >= 0", f.maxInFlight))
	}
	if f.maxBody != "" {
		n, err := parseBytes(f.maxBody)
		if err != nil {
			return c, usagef(fmt.Sprintf("--max-body %q: %v", f.maxBody, err))
		}
		c.MaxBody = n
	}
	return c, nil
}

// parseBytes reads a byte count: digits, optionally followed by KiB, MiB
// or GiB.
func parseBytes(s string) (int, error) {
	mult := 1
	for suffix, m := range map[string]int{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if rest, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = strings.TrimSpace(rest), m
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, errors.New("want a number of bytes, e.g. 65536, 64KiB or 1MiB")
	}
	return n * mult, nil
}

// capsText describes the caps for the startup line.
func capsText(c cluster.Caps) string {
	var parts []string
	if c.MaxRate > 0 {
		parts = append(parts, "rate "+strconv.FormatFloat(c.MaxRate, 'f', -1, 64)+"/s") // never 2e+04
	}
	if c.MaxDuration > 0 {
		parts = append(parts, fmt.Sprintf("duration %v", c.MaxDuration))
	}
	if c.MaxInFlight > 0 {
		parts = append(parts, fmt.Sprintf("in flight %d", c.MaxInFlight))
	}
	if c.MaxBody > 0 {
		parts = append(parts, fmt.Sprintf("body %d bytes", c.MaxBody))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
