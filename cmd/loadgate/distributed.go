package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/loadgate/loadgate/internal/loopback"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/cluster"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/scenarios"
)

// agentTokenEnv holds the control-channel token when no --token-file is
// given: a token is never a flag value (it would show in ps and shell
// history).
const agentTokenEnv = "LOADGATE_AGENT_TOKEN"

// minTokenLen is 32 characters: 128 bits as hex.
const minTokenLen = 32

// distFlags are run's flags for coordinating agents (docs/distributed.md).
type distFlags struct {
	agents    []string
	tokenFile string
	tlsCA     string
	tlsCert   string
	tlsKey    string
	tolerate  bool
}

func (d *distFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&d.agents, "agents", nil, "run on these agents (HOST:PORT,...), this process coordinating; agent k runs share k of N")
	fs.StringVar(&d.tokenFile, "token-file", "", "file holding the agents' token (or set "+agentTokenEnv+")")
	fs.StringVar(&d.tlsCA, "tls-ca", "", "CA certificate that signed the agents' certificates (mutual TLS)")
	fs.StringVar(&d.tlsCert, "tls-cert", "", "this coordinator's client certificate (mutual TLS)")
	fs.StringVar(&d.tlsKey, "tls-key", "", "the key of --tls-cert")
	fs.BoolVar(&d.tolerate, "tolerate-agent-loss", false, "an agent lost mid-run does not make the run inconclusive (its data until then is kept)")
}

// coordinator checks the flags and returns the coordinator they describe,
// or nil without --agents. Every problem is a usage error: nothing is sent.
func (d *distFlags) coordinator(sc *scenarios.Scenario, seg engine.Segment) (*cluster.Coordinator, error) {
	if len(d.agents) == 0 {
		if d.tolerate || d.tokenFile != "" || d.tlsCA != "" || d.tlsCert != "" || d.tlsKey != "" {
			return nil, usagef("--token-file, --tls-* and --tolerate-agent-loss need --agents")
		}
		return nil, nil
	}
	if !seg.Whole() {
		return nil, usagef("--segment and --agents do not mix: the coordinator gives each agent its segment")
	}
	for _, f := range sc.Plan.Flows {
		for _, st := range f.Steps {
			if st.Protocol != engine.ProtoHTTP {
				return nil, usagef(fmt.Sprintf("--agents: step %q of flow %q is a %s step, and agents speak HTTP only for now (docs/distributed.md); run it on one host", st.Name, f.Name, st.Protocol))
			}
		}
	}
	seen := map[string]bool{}
	for _, a := range d.agents {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, usagef(fmt.Sprintf("--agents: %q is not HOST:PORT", a))
		}
		if seen[a] {
			return nil, usagef(fmt.Sprintf("--agents: %s is listed twice", a))
		}
		seen[a] = true
	}
	token, err := readToken(d.tokenFile, "--agents needs the agents' token: --token-file FILE or "+agentTokenEnv)
	if err != nil {
		return nil, err
	}
	c := &cluster.Coordinator{Agents: d.agents, Token: token, Version: version}
	if c.TLS, err = d.controlTLS(); err != nil {
		return nil, err
	}
	if c.TLS == nil {
		for _, a := range d.agents {
			if !loopback.Addr(a) {
				return nil, usagef(fmt.Sprintf("agent %s is not on loopback: off loopback the control channel needs mutual TLS (--tls-ca, --tls-cert, --tls-key; make them with `loadgate certs`)", a))
			}
		}
	}
	c.Target = cluster.WireTLS(sc.TLSOptions())
	return c, nil
}

// readToken reads the shared token of agents and coordinators from file,
// or from agentTokenEnv without one, trimmed of white space; missing is the
// message when there is none. A token must hold 128 random bits.
func readToken(file, missing string) (string, error) {
	token, from := os.Getenv(agentTokenEnv), "$"+agentTokenEnv
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef(fmt.Sprintf("--token-file: %v", err))
		}
		token, from = string(b), file
	}
	token = strings.TrimSpace(token)
	switch {
	case token == "" && file == "":
		return "", usagef(missing)
	case len(token) < minTokenLen:
		return "", usagef(fmt.Sprintf("the token in %s has %d characters: a token needs at least 128 random bits: make one with `loadgate certs` or `openssl rand -hex 32`", from, len(token)))
	}
	return token, nil
}

// controlTLS is the coordinator's mutual-TLS client configuration, nil
// without the flags.
func (d *distFlags) controlTLS() (*tls.Config, error) {
	n := 0
	for _, f := range []string{d.tlsCA, d.tlsCert, d.tlsKey} {
		if f != "" {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	if n != 3 {
		return nil, usagef("mutual TLS needs all of --tls-ca, --tls-cert and --tls-key")
	}
	pool, err := readPool(d.tlsCA)
	if err != nil {
		return nil, usagef("--tls-ca: " + err.Error())
	}
	cert, err := tls.LoadX509KeyPair(d.tlsCert, d.tlsKey)
	if err != nil {
		return nil, usagef("--tls-cert/--tls-key: " + err.Error())
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func readPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
