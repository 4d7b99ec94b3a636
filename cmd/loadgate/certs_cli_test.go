package main

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/internal/pki"
)

// certModes are the files of `loadgate certs` and their modes: keys and the
// token readable by their owner only.
var certModes = map[string]os.FileMode{
	pki.CAFile: 0o644, pki.CAKeyFile: 0o600, pki.CoordinatorFile: 0o644, pki.CoordinatorKeyFile: 0o600,
	pki.AgentFile: 0o644, pki.AgentKeyFile: 0o600, pki.TokenFile: 0o600,
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyAgent checks that dir's agent.pem is signed by caPEM for each name,
// for server and client use.
func verifyAgent(t *testing.T, dir string, caPEM []byte, names ...string) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no certificate in the CA PEM")
	}
	cert := parseCertFile(t, filepath.Join(dir, pki.AgentFile))
	for _, n := range names {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: n, Roots: roots,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("agent.pem for %q: %v", n, err)
		}
	}
}

// TestCertsWritesFiles: `loadgate certs --out DIR` makes DIR 0700 with every
// file at its mode, a 64-hex-character token, an agent certificate for the
// loopback names by default and a coordinator client certificate, and
// prints the files and the agent and coordinator command lines, which the
// real flag sets accept.
func TestCertsWritesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	r := run(t, "certs", "--out", dir)
	r.expect(t, exitPassed)
	if m := fileMode(t, dir); m != 0o700 {
		t.Errorf("%s: mode %o, want 700", dir, m)
	}
	for name, want := range certModes {
		if m := fileMode(t, filepath.Join(dir, name)); m != want {
			t.Errorf("%s: mode %o, want %o", name, m, want)
		}
		if !strings.Contains(r.stdout, name) {
			t.Errorf("the output does not name %s:\n%s", name, r.stdout)
		}
	}
	token := readFile(t, filepath.Join(dir, pki.TokenFile))
	if raw, err := hex.DecodeString(strings.TrimSuffix(string(token), "\n")); err != nil || len(token) != 65 || len(raw) != 32 || token[64] != '\n' {
		t.Errorf("token %q: want 64 hex characters and a newline", token)
	}
	verifyAgent(t, dir, readFile(t, filepath.Join(dir, pki.CAFile)), "localhost", "127.0.0.1", "::1")
	coord := parseCertFile(t, filepath.Join(dir, pki.CoordinatorFile))
	if coord.Subject.CommonName != pki.DefaultCoordinatorName || len(coord.ExtKeyUsage) != 1 || coord.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("coordinator.pem: CN %q, usages %v: want %s, client auth", coord.Subject.CommonName, coord.ExtKeyUsage, pki.DefaultCoordinatorName)
	}
	lines := textCommands(r.stdout)
	if len(lines) != 2 || lines[0][1] != "agent" || lines[1][1] != "run" {
		t.Fatalf("want an agent and a coordinator command line in the output, got %q:\n%s", lines, r.stdout)
	}
	for _, args := range lines {
		// The placeholders of the output, as a user fills them in.
		args = replaceArgs(args, "SCENARIO.yaml", "examples/smoke.yaml")
		checkDeployLine(t, replaceArgs(args, "TARGET", "127.0.0.1"))
	}
}

// TestCertsRefusesOverwrite: a second run into the same directory exits 2
// naming the first file that exists, and changes nothing; --force replaces
// the files.
func TestCertsRefusesOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	run(t, "certs", "--out", dir).expect(t, exitPassed)
	token := readFile(t, filepath.Join(dir, pki.TokenFile))
	ca := readFile(t, filepath.Join(dir, pki.CAFile))
	r := run(t, "certs", "--out", dir, "--agent", "lg1.example")
	r.expect(t, exitInvalid)
	if !strings.Contains(r.stderr, filepath.Join(dir, pki.CAFile)) || !strings.Contains(r.stderr, "--force") {
		t.Errorf("stderr does not name the existing file and --force:\n%s", r.stderr)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, pki.TokenFile)), token) || !bytes.Equal(readFile(t, filepath.Join(dir, pki.CAFile)), ca) {
		t.Error("a refused run changed the files")
	}
	run(t, "certs", "--out", dir, "--agent", "lg1.example", "--force").expect(t, exitPassed)
	if bytes.Equal(readFile(t, filepath.Join(dir, pki.CAFile)), ca) || bytes.Equal(readFile(t, filepath.Join(dir, pki.TokenFile)), token) {
		t.Error("--force did not replace the CA and the token")
	}
	for name, want := range certModes {
		if m := fileMode(t, filepath.Join(dir, name)); m != want {
			t.Errorf("%s after --force: mode %o, want %o", name, m, want)
		}
	}
	verifyAgent(t, dir, readFile(t, filepath.Join(dir, pki.CAFile)), "lg1.example")
}

// TestCertsReuseCA: --ca issues from an existing CA: the new agent
// certificate verifies against the old ca.pem, the token is kept (new agents
// join the same coordinator) and the CA key is not copied; issuing into the
// CA's own directory replaces only the leaf certificates, with --force.
func TestCertsReuseCA(t *testing.T) {
	base := t.TempDir()
	first, second := filepath.Join(base, "certs"), filepath.Join(base, "more")
	run(t, "certs", "--out", first, "--agent", "lg1.example").expect(t, exitPassed)
	caPEM := readFile(t, filepath.Join(first, pki.CAFile))
	token := readFile(t, filepath.Join(first, pki.TokenFile))

	r := run(t, "certs", "--ca", first, "--out", second, "--agent", "lg3.example", "--agent", "*.agents.example", "--agent", "10.0.4.7")
	r.expect(t, exitPassed)
	verifyAgent(t, second, caPEM, "lg3.example", "agent-7.agents.example", "10.0.4.7")
	if !bytes.Equal(readFile(t, filepath.Join(second, pki.CAFile)), caPEM) || !bytes.Equal(readFile(t, filepath.Join(second, pki.TokenFile)), token) {
		t.Error("--ca: ca.pem or the token differs from the CA directory's")
	}
	if _, err := os.Stat(filepath.Join(second, pki.CAKeyFile)); !os.IsNotExist(err) {
		t.Errorf("--ca copied the CA key: %v", err)
	}
	for name, want := range certModes {
		if name == pki.CAKeyFile {
			continue
		}
		if m := fileMode(t, filepath.Join(second, name)); m != want {
			t.Errorf("%s: mode %o, want %o", name, m, want)
		}
	}

	// Into the CA's directory: the agent certificate exists, so --force.
	run(t, "certs", "--ca", first, "--out", first, "--agent", "lg4.example").expect(t, exitInvalid)
	run(t, "certs", "--ca", first, "--out", first, "--agent", "lg4.example", "--force").expect(t, exitPassed)
	verifyAgent(t, first, caPEM, "lg4.example")
	if !bytes.Equal(readFile(t, filepath.Join(first, pki.CAFile)), caPEM) || !bytes.Equal(readFile(t, filepath.Join(first, pki.TokenFile)), token) {
		t.Error("--ca into its own directory replaced the CA or the token")
	}
}

// TestCertsBadFlags: bad input exits 2 with a message and writes nothing.
func TestCertsBadFlags(t *testing.T) {
	base := t.TempDir()
	notCA := filepath.Join(base, "notca")
	if err := os.MkdirAll(notCA, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(notCA, pki.CAFile), []byte("not a certificate"), 0o644)
	os.WriteFile(filepath.Join(notCA, pki.CAKeyFile), []byte("not a key"), 0o600)
	out := filepath.Join(base, "out")
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no --out", []string{"certs"}, "--out"},
		{"an argument", []string{"certs", "--out", out, "extra"}, "no arguments"},
		{"zero days", []string{"certs", "--out", out, "--days", "0"}, "--days"},
		{"a URL as a name", []string{"certs", "--out", out, "--agent", "https://lg1.example"}, "URL"},
		{"a port in a name", []string{"certs", "--out", out, "--agent", "lg1.example:7070"}, "port"},
		{"a missing CA", []string{"certs", "--out", out, "--ca", filepath.Join(base, "none")}, "--ca"},
		{"not a CA", []string{"certs", "--out", out, "--ca", notCA}, "--ca"},
		{"an unknown flag", []string{"certs", "--out", out, "--agents", "x"}, "unknown flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.args...)
			r.expect(t, exitInvalid)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was made: %v", out, err)
			}
		})
	}
}

func parseCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: not PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
