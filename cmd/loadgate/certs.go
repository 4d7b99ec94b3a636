package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loadgate/loadgate/internal/loopback"

	"github.com/loadgate/loadgate/internal/pki"
)

func init() {
	// The examples live here with the command (help.go has the others).
	helpExamples["certs"] = []string{
		"loadgate certs --out certs                                   # agents on this host: localhost, 127.0.0.1, ::1",
		"loadgate certs --out certs --agent lg1.example --agent lg2.example --agent 10.0.4.7",
		"loadgate certs --out certs --agent '*.loadgate-agent.loadtest.svc.cluster.local'   # deploy/kubernetes",
		"loadgate certs --ca certs --out certs-lg3 --agent lg3.example # one more agent, same CA and token",
	}
}

// defaultAgentNames are the agent certificate's names without --agent: an
// agent on the coordinator's host.
var defaultAgentNames = []string{"localhost", "127.0.0.1", "::1"}

// agentPort is the port `loadgate agent` listens on by default.
const agentPort = "7070"

// certsCmd writes what distributed mode needs (internal/pki): a CA, the
// coordinator's client certificate, one agent certificate whose names are
// every --agent, and a token. With --ca it issues from an existing CA
// instead, keeping that directory's token so that new agents join the
// existing coordinator. Existing files are refused (exit 2) without --force.
func certsCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("certs", "certs --out DIR [--agent NAME]... [--coordinator-name NAME] [--days N] [--ca DIR] [--force]", stdout, stderr)
	out := fs.String("out", "", "write the files into DIR (made 0700 if missing)")
	agents := fs.StringSlice("agent", nil, "a name of the agents (host name, IP, or a wildcard such as *.agents.example) in agent.pem; repeatable (default localhost,127.0.0.1,::1)")
	coordName := fs.String("coordinator-name", pki.DefaultCoordinatorName, "the common name of the coordinator's client certificate")
	days := fs.Int("days", 365, "validity of the certificates, in days")
	caDir := fs.String("ca", "", "issue from the CA in DIR (ca.pem, ca-key.pem) instead of making one; its token is kept")
	force := fs.Bool("force", false, "replace files that exist in --out")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef(fmt.Sprintf("certs takes no arguments (got %q): loadgate certs --out DIR [--agent NAME]...", fs.Args()))
	case *out == "":
		return usagef("want --out DIR: loadgate certs --out certs [--agent NAME]...")
	case *days < 1 || *days > pki.MaxDays:
		return usagef(fmt.Sprintf("--days %d: want 1 to %d", *days, pki.MaxDays))
	case strings.TrimSpace(*coordName) == "":
		return usagef("--coordinator-name must not be empty")
	}
	names := *agents
	if len(names) == 0 {
		names = defaultAgentNames
	}
	for _, n := range names {
		if err := pki.CheckName(n); err != nil {
			return usagef("--agent: " + strings.TrimPrefix(err.Error(), "pki: "))
		}
	}
	files, notes, err := certFiles(*out, *caDir, names, *coordName, *days)
	if err != nil {
		return err
	}
	if err := pki.WriteFiles(*out, files, *force); err != nil {
		var exists *pki.ExistsError
		if errors.As(err, &exists) {
			return usagef(exists.Error())
		}
		return &exitError{code: exitIO, err: err}
	}
	printCerts(stdout, *out, files, notes, names)
	return nil
}

// certFiles makes the files to write into out. notes say what was reused.
func certFiles(out, caDir string, names []string, coordName string, days int) (files []pki.File, notes []string, err error) {
	var ca *pki.CA
	token := ""
	sameDir := false
	if caDir == "" {
		if ca, err = pki.NewCA(days); err != nil {
			return nil, nil, err
		}
	} else {
		if ca, err = loadCA(caDir); err != nil {
			return nil, nil, err
		}
		sameDir = sameDirectory(caDir, out)
		notes = append(notes, fmt.Sprintf("CA reused from %s (its key is not copied)", caDir))
		switch b, rerr := os.ReadFile(filepath.Join(caDir, pki.TokenFile)); {
		case rerr == nil && len(strings.TrimSpace(string(b))) >= minTokenLen:
			token = strings.TrimSpace(string(b))
			notes = append(notes, fmt.Sprintf("token kept from %s", filepath.Join(caDir, pki.TokenFile)))
		case rerr == nil:
			return nil, nil, usagef(fmt.Sprintf("%s holds fewer than 32 characters: not a token of loadgate certs", filepath.Join(caDir, pki.TokenFile)))
		case !errors.Is(rerr, os.ErrNotExist):
			return nil, nil, &exitError{code: exitInvalid, err: rerr}
		}
	}
	if token == "" {
		if token, err = pki.NewToken(); err != nil {
			return nil, nil, err
		}
	}
	agentCert, agentKey, err := ca.Issue("loadgate-agent", names, true, false, days)
	if err != nil {
		return nil, nil, err
	}
	coordCert, coordKey, err := ca.Issue(coordName, nil, false, true, days)
	if err != nil {
		return nil, nil, err
	}
	if !sameDir {
		files = append(files, pki.File{Name: pki.CAFile, Data: ca.PEM(), Mode: 0o644})
	}
	if caDir == "" {
		files = append(files, pki.File{Name: pki.CAKeyFile, Data: ca.KeyPEM(), Mode: 0o600})
	}
	files = append(files,
		pki.File{Name: pki.CoordinatorFile, Data: coordCert, Mode: 0o644},
		pki.File{Name: pki.CoordinatorKeyFile, Data: coordKey, Mode: 0o600},
		pki.File{Name: pki.AgentFile, Data: agentCert, Mode: 0o644},
		pki.File{Name: pki.AgentKeyFile, Data: agentKey, Mode: 0o600})
	if !sameDir {
		files = append(files, pki.File{Name: pki.TokenFile, Data: []byte(token + "\n"), Mode: 0o600})
	}
	if exp := ca.Cert.NotAfter; exp.Before(time.Now().AddDate(0, 0, days)) {
		notes = append(notes, fmt.Sprintf("the certificates end with the CA on %s", exp.Format(time.DateOnly)))
	}
	return files, notes, nil
}

// loadCA reads ca.pem and ca-key.pem from dir. A missing or unusable CA is
// bad input: exit 2.
func loadCA(dir string) (*pki.CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, pki.CAFile))
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("--ca: %w", err)}
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, pki.CAKeyFile))
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("--ca: %w", err)}
	}
	ca, err := pki.LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("--ca %s: %s", dir, strings.TrimPrefix(err.Error(), "pki: "))}
	}
	return ca, nil
}

// sameDirectory reports whether a and b name one directory (b may not
// exist yet).
func sameDirectory(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// printCerts says what was written and the two command lines that use it.
func printCerts(w io.Writer, dir string, files []pki.File, notes, names []string) {
	fmt.Fprintf(w, "wrote into %s:\n", dir)
	for _, f := range files {
		fmt.Fprintf(w, "  %-20s %04o  %s\n", f.Name, f.Mode, certFileRole[f.Name])
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  (%s)\n", n)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	local := true
	var hosts []string
	for _, n := range names {
		local = local && loopback.Host(n)
		hosts = append(hosts, net.JoinHostPort(strings.Replace(n, "*", "HOST", 1), agentPort))
	}
	listen := "0.0.0.0:" + agentPort
	if local { // one agent, on this host: by IP if it has one
		host := names[0]
		for _, n := range names {
			if net.ParseIP(n) != nil {
				host = n
				break
			}
		}
		listen, hosts = "127.0.0.1:"+agentPort, []string{net.JoinHostPort(host, agentPort)}
		if net.ParseIP(host) != nil {
			listen = hosts[0]
		}
	}
	fmt.Fprintf(w, "\nagent names in %s: %s\n", pki.AgentFile, strings.Join(names, ", "))
	fmt.Fprintf(w, "\non each agent host (copy %s, %s, %s and %s there; TARGET: what the agents may load):\n",
		pki.CAFile, pki.AgentFile, pki.AgentKeyFile, pki.TokenFile)
	fmt.Fprintf(w, "  loadgate agent --listen %s --token-file %s --tls-cert %s --tls-key %s --client-ca %s --allow-target TARGET\n",
		listen, p(pki.TokenFile), p(pki.AgentFile), p(pki.AgentKeyFile), p(pki.CAFile))
	fmt.Fprintf(w, "\non the coordinator (each --agents host must be one of the agent names; a wildcard covers one label):\n")
	fmt.Fprintf(w, "  loadgate run SCENARIO.yaml --agents %s --token-file %s --tls-ca %s --tls-cert %s --tls-key %s\n",
		strings.Join(hosts, ","), p(pki.TokenFile), p(pki.CAFile), p(pki.CoordinatorFile), p(pki.CoordinatorKeyFile))
	if _, ok := findFile(files, pki.CAKeyFile); ok {
		fmt.Fprintf(w, "\n%s signs more agent certificates (loadgate certs --ca %s ...): keep it off the agent and coordinator hosts.\n", p(pki.CAKeyFile), dir)
	}
}

var certFileRole = map[string]string{
	pki.CAFile:             "CA certificate: --client-ca of agents, --tls-ca of the coordinator",
	pki.CAKeyFile:          "CA key: signs certificates; keep it offline",
	pki.CoordinatorFile:    "coordinator client certificate: --tls-cert of run --agents",
	pki.CoordinatorKeyFile: "its key: --tls-key of run --agents",
	pki.AgentFile:          "agent certificate: --tls-cert of agent",
	pki.AgentKeyFile:       "its key: --tls-key of agent",
	pki.TokenFile:          "shared token: --token-file of agent and run --agents",
}

func findFile(files []pki.File, name string) (pki.File, bool) {
	for _, f := range files {
		if f.Name == name {
			return f, true
		}
	}
	return pki.File{}, false
}
