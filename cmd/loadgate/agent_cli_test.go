package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	be "encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loadgate/loadgate/cluster"
	"github.com/loadgate/loadgate/internal/pki"
)

const cliToken = "3f9a1c0e5b7d2468ace013579bdf2468ace013579bdf2468ace013579bdf0246"

// agentEnv is the test's environment without LOADGATE_ variables, which
// would set agent flags or the token, plus env.
func agentEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOADGATE_") {
			out = append(out, kv)
		}
	}
	return append(append(out, "NO_COLOR=1"), env...)
}

// TestAgentFlagRefusals: every unsafe or broken agent configuration exits
// 2 with a message, before listening.
func TestAgentFlagRefusals(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, body)
		return p
	}
	good := file("token", cliToken+"\n")
	short := file("short", "  0123456789abcdef  \n")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no token", nil, nil, "no token: give --token-file FILE or set LOADGATE_AGENT_TOKEN"},
		{"short token file", nil, []string{"--token-file", short},
			"the token in " + short + " has 16 characters: a token needs at least 128 random bits: make one with `loadgate certs` or `openssl rand -hex 32`"},
		{"short token in the environment", []string{"LOADGATE_AGENT_TOKEN=abc"}, nil, "the token in $LOADGATE_AGENT_TOKEN has 3 characters: a token needs at least 128 random bits"},
		{"unreadable token file", nil, []string{"--token-file", filepath.Join(dir, "missing")}, "--token-file: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{"all addresses without TLS", nil, []string{"--token-file", good, "--listen", "0.0.0.0:7070"},
			"--listen 0.0.0.0:7070 is not a loopback address: off loopback an agent needs mutual TLS (--tls-cert, --tls-key and --client-ca; loadgate certs makes them)"},
		{"empty host without TLS", nil, []string{"--token-file", good, "--listen", ":7070"}, "--listen :7070 is not a loopback address"},
		{"IPv6 any without TLS", nil, []string{"--token-file", good, "--listen", "[::]:7070"}, "--listen [::]:7070 is not a loopback address"},
		{"not HOST:PORT", nil, []string{"--token-file", good, "--listen", "127.0.0.1"}, `--listen "127.0.0.1": want HOST:PORT`},
		{"some TLS flags", nil, []string{"--token-file", good, "--tls-cert", good}, "--tls-cert, --tls-key and --client-ca go together: give all three"},
		{"two TLS flags", nil, []string{"--token-file", good, "--tls-cert", good, "--client-ca", good}, "go together"},
		{"unreadable TLS files", nil, []string{"--token-file", good, "--tls-cert", filepath.Join(dir, "a.pem"), "--tls-key", filepath.Join(dir, "k.pem"), "--client-ca", good},
			"--tls-cert " + filepath.Join(dir, "a.pem")},
		{"bad allow-target", nil, []string{"--token-file", good, "--allow-target", "*.example.com", "--allow-target", "10.0.0.0/33"},
			"--allow-target \"*.example.com\": wildcards are not supported: list each host, or give a CIDR\n--allow-target \"10.0.0.0/33\": not a CIDR"},
		{"bad max-body", nil, []string{"--token-file", good, "--max-body", "1MB"}, `--max-body "1MB": want a number of bytes, e.g. 65536, 64KiB or 1MiB`},
		{"negative max-rate", nil, []string{"--token-file", good, "--max-rate", "-5"}, "--max-rate -5: want a rate >= 0"},
		{"arguments", nil, []string{"--token-file", good, "extra"}, `agent takes no arguments (got ["extra"])`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, rep, stdout, stderr := startCmd(t, append([]string{"agent"}, tc.args...)...)
			cmd.Env = agentEnv(tc.env...)
			done := make(chan error, 1)
			go func() { done <- cmd.Run() }()
			select {
			case err := <-done:
				r := finish(t, cmd, err, rep, stdout, stderr)
				r.expect(t, exitInvalid)
				if !strings.Contains(r.stderr, tc.want) {
					t.Fatalf("stderr lacks %q:\n%s", tc.want, r.stderr)
				}
				if strings.Contains(r.stderr, "listening on") || strings.Contains(r.stderr, cliToken) {
					t.Fatalf("stderr:\n%s", r.stderr)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("the agent started: %s", stderr)
			}
		})
	}
}

// agentProc is a loadgate agent subprocess whose stderr is read line by
// line while it runs.
type agentProc struct {
	cmd   *exec.Cmd
	lines chan string
	eof   chan struct{}
	mu    sync.Mutex
	all   strings.Builder // guarded by mu
}

func startAgentProc(t *testing.T, env []string, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{cmd: exec.Command(binary, append([]string{"agent"}, args...)...), lines: make(chan string, 100), eof: make(chan struct{})}
	p.cmd.Env = agentEnv(env...)
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.all.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.eof
			p.cmd.Wait()
		}
	})
	return p
}

func (p *agentProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all.String()
}

// waitLine returns the first line holding want.
func (p *agentProc) waitLine(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, want) {
				return l
			}
		case <-p.eof:
			t.Fatalf("the agent exited without %q:\n%s", want, p.stderr())
		case <-timeout:
			t.Fatalf("no %q after 10 s:\n%s", want, p.stderr())
		}
	}
}

// stop signals the agent and waits for its exit code.
func (p *agentProc) stop(t *testing.T, sig syscall.Signal) (int, time.Duration) {
	t.Helper()
	began := time.Now()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.eof:
	case <-time.After(10 * time.Second):
		t.Fatalf("the agent did not exit 10 s after %v:\n%s", sig, p.stderr())
	}
	p.cmd.Wait()
	return p.cmd.ProcessState.ExitCode(), time.Since(began)
}

// listenAddr reads the address of the startup line.
func listenAddr(t *testing.T, line string) string {
	t.Helper()
	_, rest, ok := strings.Cut(line, "listening on ")
	addr, _, _ := strings.Cut(rest, " ")
	if !ok || addr == "" {
		t.Fatalf("no address in %q", line)
	}
	return addr
}

// agentHello sends a hello over c in the control protocol's framing
// (4-byte length, type byte 1, JSON) and returns the answer's type (2
// welcome, 3 refuse) and payload.
func agentHello(t *testing.T, c net.Conn, token string) (byte, map[string]any) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"protocol": cluster.Protocol, "version": "cli-test", "token": token, "run": "cli run"})
	frame := append(be.BigEndian.AppendUint32(nil, uint32(len(payload))), 1)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append(frame, payload...)); err != nil {
		t.Fatal(err)
	}
	var head [5]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		t.Fatalf("no answer to hello: %v", err)
	}
	body := make([]byte, be.BigEndian.Uint32(head[:4]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return head[4], m
}

// TestAgentServesAndStops: the agent listens where it is told (here
// 127.0.0.2, port chosen by the kernel), says so on one line, welcomes a
// coordinator with its token, refuses and audits one without, never prints
// the token, and exits 0 on SIGTERM.
func TestAgentServesAndStops(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, "\n"+cliToken+"\n")
	p := startAgentProc(t, nil, "--listen", "127.0.0.2:0", "--token-file", tokenFile, "--allow-target", "127.0.0.1", "--max-rate", "100", "--max-body", "64KiB")
	line := p.waitLine(t, "loadgate agent: listening on")
	addr := listenAddr(t, line)
	if !strings.HasPrefix(addr, "127.0.0.2:") || !strings.Contains(line, "(plaintext, loopback only), allow-list: 127.0.0.1, caps: rate 100/s, body 65536 bytes") {
		t.Fatalf("startup line %q", line)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if typ, m := agentHello(t, c, cliToken); typ != 2 || m["name"] == "" {
		t.Fatalf("hello with the token: type %d %v, want a welcome", typ, m)
	}
	c.Close()
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if typ, m := agentHello(t, c, strings.Repeat("x", 40)); typ != 3 || m["code"] != cluster.RefuseAuth {
		t.Fatalf("hello with another token: type %d %v, want a refusal (auth)", typ, m)
	}
	audit := p.waitLine(t, "loadgate agent: audit:")
	if !strings.Contains(audit, `run="cli run" refused (auth): wrong token`) {
		t.Fatalf("audit line %q", audit)
	}
	code, took := p.stop(t, syscall.SIGTERM)
	if code != exitPassed || took > 5*time.Second {
		t.Fatalf("exit %d %v after SIGTERM, want 0 at once:\n%s", code, took, p.stderr())
	}
	if s := p.stderr(); !strings.Contains(s, "loadgate agent: stopped") || strings.Contains(s, cliToken) || strings.Contains(s, "xxxxxxxx") {
		t.Fatalf("stderr:\n%s", s)
	}
}

// TestAgentTLSListen: with the three TLS flags (files of internal/pki, as
// loadgate certs writes them) and the token from the environment, the
// agent serves mutual TLS and names the coordinator's certificate in its
// audit lines; SIGINT stops it with exit 0.
func TestAgentTLSListen(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA(1)
	if err != nil {
		t.Fatal(err)
	}
	agentCert, agentKey, err := ca.Issue("loadgate-agent", []string{"127.0.0.2"}, true, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	coordCert, coordKey, err := ca.Issue(pki.DefaultCoordinatorName, nil, false, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{pki.CAFile: ca.PEM(), pki.AgentFile: agentCert, pki.AgentKeyFile: agentKey} {
		writeFile(t, filepath.Join(dir, name), string(body))
	}
	p := startAgentProc(t, []string{"LOADGATE_AGENT_TOKEN=" + cliToken}, "--listen", "127.0.0.2:0",
		"--tls-cert", filepath.Join(dir, pki.AgentFile), "--tls-key", filepath.Join(dir, pki.AgentKeyFile), "--client-ca", filepath.Join(dir, pki.CAFile))
	line := p.waitLine(t, "loadgate agent: listening on")
	if !strings.Contains(line, "(tls), allow-list: 127.0.0.0/8, ::1/128 (loopback only, the default), caps: none") {
		t.Fatalf("startup line %q", line)
	}
	pair, err := tls.X509KeyPair(coordCert, coordKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	c, err := tls.Dial("tcp", listenAddr(t, line), &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if typ, m := agentHello(t, c, "not-the-token-but-long-enough-0123456789"); typ != 3 || m["code"] != cluster.RefuseAuth {
		t.Fatalf("type %d %v, want a refusal (auth)", typ, m)
	}
	if audit := p.waitLine(t, "audit:"); !strings.Contains(audit, `cn="loadgate-coordinator" run="cli run" refused (auth)`) {
		t.Fatalf("audit line %q", audit)
	}
	if code, _ := p.stop(t, syscall.SIGINT); code != exitPassed {
		t.Fatalf("exit %d after SIGINT:\n%s", code, p.stderr())
	}
}
