package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/pki"
	"github.com/loadgate/loadgate/internal/testguard"
)

func TestMain(m *testing.M) { testguard.Main(m) }

// bundle is what `loadgate certs` makes: a CA, an agent certificate and a
// coordinator certificate.
type bundle struct {
	ca                    *pki.CA
	agent, coordinator    tls.Certificate
	agentPEM, coordPEM    []byte
	agentKey, coordKeyPEM []byte
}

var agentNames = []string{"localhost", "127.0.0.1", "::1", "*.loadgate-agent.loadtest.svc.cluster.local"}

func newBundle(t *testing.T) *bundle {
	t.Helper()
	ca, err := pki.NewCA(365)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{ca: ca}
	if b.agentPEM, b.agentKey, err = ca.Issue("loadgate-agent", agentNames, true, false, 365); err != nil {
		t.Fatal(err)
	}
	if b.coordPEM, b.coordKeyPEM, err = ca.Issue(pki.DefaultCoordinatorName, nil, false, true, 365); err != nil {
		t.Fatal(err)
	}
	b.agent = keyPair(t, b.agentPEM, b.agentKey)
	b.coordinator = keyPair(t, b.coordPEM, b.coordKeyPEM)
	return b
}

func keyPair(t *testing.T, certPEM, keyPEM []byte) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pool(t *testing.T, caPEM []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA PEM holds no certificate")
	}
	return p
}

func parse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs a TLS handshake over an in-memory pipe between an agent
// (server) and a coordinator (client) dialing serverName, and reports
// whether both sides accepted it. The agent writes a byte once its side is
// done, so that a client certificate refused after the client's own
// handshake (TLS 1.3) still shows on the coordinator's side.
func handshake(t *testing.T, agent, coord *tls.Config, serverName string) (agentErr, coordErr error) {
	t.Helper()
	sc, cc := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	sc.SetDeadline(deadline)
	cc.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		s := tls.Server(sc, agent)
		err := s.Handshake()
		if err == nil {
			_, err = s.Write([]byte{1})
		}
		sc.Close()
		done <- err
	}()
	coord = coord.Clone()
	coord.ServerName = serverName
	c := tls.Client(cc, coord)
	coordErr = c.Handshake()
	if coordErr == nil {
		_, coordErr = c.Read(make([]byte, 1))
	}
	cc.Close()
	return <-done, coordErr
}

// TestHandshake: the agent's server config (its certificate, the CA as
// --client-ca, RequireAndVerifyClientCert) and the coordinator's client
// config (its certificate, the CA as --tls-ca) accept each other, and refuse
// a certificate from another CA or of the wrong kind.
func TestHandshake(t *testing.T) {
	b := newBundle(t)
	other := newBundle(t) // another CA with the same names
	agentConfig := func(cert tls.Certificate, clientCA []byte) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool(t, clientCA),
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	}
	coordConfig := func(certs []tls.Certificate, ca []byte) *tls.Config {
		return &tls.Config{Certificates: certs, RootCAs: pool(t, ca), MinVersion: tls.VersionTLS12}
	}
	// A client sends a certificate the agent's CA did not sign only when
	// made to: crypto/tls picks one the server's accepted CAs signed.
	forced := func(cert tls.Certificate, ca []byte) *tls.Config {
		c := coordConfig(nil, ca)
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		return c
	}
	for _, tc := range []struct {
		name         string
		agent, coord *tls.Config
		serverName   string
		agentOK      bool // the agent accepts the coordinator
		coordOK      bool // the coordinator accepts the agent
	}{
		// The pair from one run of `loadgate certs`.
		{"same CA", agentConfig(b.agent, b.ca.PEM()), coordConfig([]tls.Certificate{b.coordinator}, b.ca.PEM()), "127.0.0.1", true, true},
		// The wildcard SAN covers a StatefulSet pod's name.
		{"same CA, wildcard name", agentConfig(b.agent, b.ca.PEM()), coordConfig([]tls.Certificate{b.coordinator}, b.ca.PEM()),
			"loadgate-agent-2.loadgate-agent.loadtest.svc.cluster.local", true, true},
		// A coordinator whose certificate another CA signed is refused.
		{"coordinator of another CA", agentConfig(b.agent, b.ca.PEM()), forced(other.coordinator, b.ca.PEM()), "127.0.0.1", false, false},
		// Or sending the agent certificate of another CA.
		{"client certificate of another CA", agentConfig(b.agent, b.ca.PEM()), forced(other.agent, b.ca.PEM()), "127.0.0.1", false, false},
		// An agent's own certificate (same CA, server use only) cannot
		// act as a coordinator: one agent host's key drives no other agent.
		{"agent certificate as a client", agentConfig(b.agent, b.ca.PEM()), forced(b.agent, b.ca.PEM()), "127.0.0.1", false, false},
		// A coordinator without a certificate is refused.
		{"coordinator without a certificate", agentConfig(b.agent, b.ca.PEM()), coordConfig(nil, b.ca.PEM()), "127.0.0.1", false, false},
		// An agent whose certificate another CA signed is refused.
		{"agent of another CA", agentConfig(other.agent, b.ca.PEM()), coordConfig([]tls.Certificate{b.coordinator}, b.ca.PEM()), "127.0.0.1", false, false},
		// The coordinator's certificate (client use only, no names) cannot
		// serve as an agent's.
		{"coordinator certificate as a server", agentConfig(b.coordinator, b.ca.PEM()), coordConfig([]tls.Certificate{b.coordinator}, b.ca.PEM()), "127.0.0.1", false, false},
		// A name the agent certificate does not hold is refused.
		{"wrong name", agentConfig(b.agent, b.ca.PEM()), coordConfig([]tls.Certificate{b.coordinator}, b.ca.PEM()), "agent.example.com", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agentErr, coordErr := handshake(t, tc.agent, tc.coord, tc.serverName)
			t.Logf("agent: %v; coordinator: %v", agentErr, coordErr)
			if (agentErr == nil) != tc.agentOK || (coordErr == nil) != (tc.agentOK && tc.coordOK) {
				t.Fatalf("agent: %v, coordinator: %v; want agent ok %v, coordinator ok %v", agentErr, coordErr, tc.agentOK, tc.coordOK)
			}
		})
	}
}

// TestAgentNames: the agent certificate verifies against the CA for each of
// its names, an IP and a wildcard among them, for both server and client
// use; other names, and two labels under the wildcard, do not verify.
func TestAgentNames(t *testing.T) {
	b := newBundle(t)
	cert := parse(t, b.agentPEM)
	if len(cert.IPAddresses) != 2 || len(cert.DNSNames) != 2 {
		t.Fatalf("IP SANs %v, DNS SANs %v: want the two IPs and the two host names", cert.IPAddresses, cert.DNSNames)
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"localhost", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"loadgate-agent-0.loadgate-agent.loadtest.svc.cluster.local", true},
		{"a.b.loadgate-agent.loadtest.svc.cluster.local", false}, // a wildcard covers one label
		{"loadgate-agent.loadtest.svc.cluster.local", false},     // and not the bare domain
		{"127.0.0.2", false},
		{"example.com", false},
	} {
		_, err := cert.Verify(x509.VerifyOptions{DNSName: tc.name, Roots: pool(t, b.ca.PEM()),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != tc.ok {
			t.Errorf("verify for %q: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestCertificateFields: the CA, agent and coordinator certificates have
// the key type, usages, names, serials and validity the package promises.
func TestCertificateFields(t *testing.T) {
	start := time.Now()
	b := newBundle(t)
	ca, agent, coord := b.ca.Cert, parse(t, b.agentPEM), parse(t, b.coordPEM)
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 || !ca.BasicConstraintsValid || ca.CheckSignatureFrom(ca) != nil {
		t.Errorf("CA: IsCA %v, key usage %b: want a self-signed CA that signs certificates", ca.IsCA, ca.KeyUsage)
	}
	if coord.Subject.CommonName != "loadgate-coordinator" || len(coord.ExtKeyUsage) != 1 || coord.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("coordinator: CN %q, usages %v: want loadgate-coordinator, client auth only", coord.Subject.CommonName, coord.ExtKeyUsage)
	}
	if len(agent.ExtKeyUsage) != 1 || agent.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || agent.IsCA {
		t.Errorf("agent: usages %v, IsCA %v: want server auth only (an agent's key must not drive other agents), not a CA", agent.ExtKeyUsage, agent.IsCA)
	}
	serials := map[string]bool{}
	for name, c := range map[string]*x509.Certificate{"CA": ca, "agent": agent, "coordinator": coord} {
		if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", name, c.PublicKey)
		}
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 || serials[c.SerialNumber.String()] {
			t.Errorf("%s: serial %v: want a distinct positive number of at most 128 bits", name, c.SerialNumber)
		}
		serials[c.SerialNumber.String()] = true
		// An hour back for clock skew; 365 days ahead.
		if d := start.Sub(c.NotBefore); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("%s: NotBefore %v, want an hour before %v", name, c.NotBefore, start)
		}
		if d := c.NotAfter.Sub(start); d < 364*24*time.Hour || d > 366*24*time.Hour {
			t.Errorf("%s: NotAfter %v, want 365 days after %v", name, c.NotAfter, start)
		}
	}
	// A leaf asked to outlive its CA ends with it.
	short, err := pki.NewCA(1)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _, err := short.Issue("x", []string{"x.example"}, true, false, 365)
	if err != nil {
		t.Fatal(err)
	}
	if got := parse(t, leaf).NotAfter; !got.Equal(short.Cert.NotAfter) {
		t.Errorf("leaf of a 1-day CA ends %v, want the CA's end %v", got, short.Cert.NotAfter)
	}
}

// TestLoadCA: a CA read back from its PEM files issues certificates that
// verify against the original; a wrong key, a leaf certificate and garbage
// are refused.
func TestLoadCA(t *testing.T) {
	b := newBundle(t)
	ca, err := pki.LoadCA(b.ca.PEM(), b.ca.KeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.Issue("loadgate-agent", []string{"agent-4.example"}, true, false, 30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, certPEM).Verify(x509.VerifyOptions{DNSName: "agent-4.example", Roots: pool(t, b.ca.PEM())}); err != nil {
		t.Errorf("a certificate from the loaded CA does not verify against the original: %v", err)
	}
	// The same key as SEC 1 ("EC PRIVATE KEY"), as openssl ecparam writes it.
	key, _ := tls.X509KeyPair(b.ca.PEM(), b.ca.KeyPEM())
	sec1, err := x509.MarshalECPrivateKey(key.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.LoadCA(b.ca.PEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})); err != nil {
		t.Errorf("SEC 1 key: %v", err)
	}
	other := newBundle(t)
	for _, tc := range []struct {
		name          string
		cert, key     []byte
		wantInMessage string
	}{
		{"another CA's key", b.ca.PEM(), other.ca.KeyPEM(), "does not belong"},
		{"a leaf certificate", b.agentPEM, b.agentKey, "not a CA"},
		{"not PEM", []byte("hello"), b.ca.KeyPEM(), "not a PEM"},
		{"a key that is not PEM", b.ca.PEM(), []byte("hello"), "not PEM"},
	} {
		if _, err := pki.LoadCA(tc.cert, tc.key); err == nil || !strings.Contains(err.Error(), tc.wantInMessage) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.wantInMessage)
		}
	}
}

// TestIssueRefuses: bad names, validities and usages are errors.
func TestIssueRefuses(t *testing.T) {
	ca, err := pki.NewCA(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		sans           []string
		server, client bool
		days           int
	}{
		{"a URL", []string{"https://agent.example"}, true, true, 1},
		{"a port", []string{"agent.example:7070"}, true, true, 1},
		{"a wildcard inside", []string{"agent.*.example"}, true, true, 1},
		{"a bare wildcard", []string{"*"}, true, true, 1},
		{"an empty name", []string{""}, true, true, 1},
		{"a server without names", nil, true, false, 1},
		{"no usage", []string{"a.example"}, false, false, 1},
		{"zero days", []string{"a.example"}, true, true, 0},
	} {
		if _, _, err := ca.Issue("x", tc.sans, tc.server, tc.client, tc.days); err == nil {
			t.Errorf("%s: issued, want an error", tc.name)
		}
	}
	if _, err := pki.NewCA(-1); err == nil {
		t.Error("NewCA(-1): want an error")
	}
}

// TestNewToken: 64 hex characters (256 bits), different each time.
func TestNewToken(t *testing.T) {
	a, err := pki.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pki.NewToken()
	if raw, err := hex.DecodeString(a); err != nil || len(a) != 64 || len(raw) != 32 || a == b {
		t.Fatalf("tokens %q and %q: want two different 64-character hex strings", a, b)
	}
}

// TestWriteFiles: the directory is made 0700, each file gets its mode (keys
// 0600 whatever the umask), an existing file is refused by name before
// anything is written, and force replaces it.
func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	files := []pki.File{{"ca.pem", []byte("cert\n"), 0o644}, {"ca-key.pem", []byte("key\n"), 0o600}, {"token", []byte("t\n"), 0o600}}
	if err := pki.WriteFiles(dir, files, false); err != nil {
		t.Fatal(err)
	}
	mode := func(p string) os.FileMode {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}
	if m := mode(dir); m != 0o700 {
		t.Errorf("directory mode %o, want 700", m)
	}
	for _, f := range files {
		if m := mode(filepath.Join(dir, f.Name)); m != f.Mode {
			t.Errorf("%s: mode %o, want %o", f.Name, m, f.Mode)
		}
	}
	again := []pki.File{{"new.pem", []byte("new\n"), 0o644}, {"token", []byte("u\n"), 0o600}}
	err := pki.WriteFiles(dir, again, false)
	var exists *pki.ExistsError
	if !errors.As(err, &exists) || exists.Path != filepath.Join(dir, "token") {
		t.Fatalf("rewriting token without force: %v, want an ExistsError naming it", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("new.pem was written although token was refused: %v", err)
	}
	if err := pki.WriteFiles(dir, again, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "token")); string(b) != "u\n" || mode(filepath.Join(dir, "token")) != 0o600 {
		t.Errorf("token after force: %q, mode %o", b, mode(filepath.Join(dir, "token")))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// ExampleCA_Issue makes what one agent and its coordinator need.
func ExampleCA_Issue() {
	ca, err := pki.NewCA(365)
	if err != nil {
		panic(err)
	}
	agentPEM, _, err := ca.Issue("loadgate-agent", []string{"agent-1.example", "10.0.0.7"}, true, false, 365)
	if err != nil {
		panic(err)
	}
	_, _, err = ca.Issue(pki.DefaultCoordinatorName, nil, false, true, 365)
	if err != nil {
		panic(err)
	}
	b, _ := pem.Decode(agentPEM)
	cert, _ := x509.ParseCertificate(b.Bytes)
	fmt.Println(cert.DNSNames, cert.IPAddresses)
	// Output: [agent-1.example] [10.0.0.7]
}
