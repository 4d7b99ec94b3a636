package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial atomic.Int64

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: "loadgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf issues a certificate for names (DNS names or IPs); expired makes
// one whose validity ended an hour ago; client makes a client certificate.
func (ca *testCA) leaf(t *testing.T, names []string, expired, client bool) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if expired {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

// tlsTarget starts a loopback https server with cert; clientCA, if set,
// makes it require a client certificate signed by that CA. h2 enables
// HTTP/2 (ALPN). It counts requests by HTTP major version.
type tlsTarget struct {
	*httptest.Server
	h1, h2 atomic.Int64
}

func newTLSTarget(t *testing.T, cert tls.Certificate, clientCA *testCA, h2 bool) *tlsTarget {
	t.Helper()
	tt := &tlsTarget{}
	tt.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			tt.h2.Add(1)
		} else {
			tt.h1.Add(1)
		}
	}))
	tt.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.cert)
		tt.TLS.ClientCAs, tt.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	tt.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	tt.EnableHTTP2 = h2
	tt.StartTLS()
	t.Cleanup(tt.Close)
	return tt
}

// tlsScenario writes files (name → contents) and a scenario for url with a
// top-level section (tls:, http:) into one directory; the scenario names
// the files relative to itself.
func tlsScenario(t *testing.T, url, section string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	body := fmt.Sprintf("name: tls-test\nbase_url: %s\nload: { rate: 20, duration: 500ms }\n"+looseGenerator+"flows:\n  - name: f\n    steps:\n      - { name: s, get: /x }\n%s\nthresholds:\n  http_req_failed: [\"rate < 1%%\"]\n", url, section)
	p := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLS (docs/reliability.md, row 4): verification is on by default; ca_file,
// client certificates and server_name make private PKI work; broken
// certificates stop the run at preflight (exit 3) or, past it, fail every
// request with class tls; insecure_skip_verify runs with a loud warning
// that the report keeps.
func TestTLS(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	good, _, _ := ca.leaf(t, []string{"127.0.0.1"}, false, false)
	named, _, _ := ca.leaf(t, []string{"api.internal"}, false, false)
	expired, _, _ := ca.leaf(t, []string{"127.0.0.1"}, true, false)
	_, clientCert, clientKey := ca.leaf(t, nil, false, true)
	_, strangerCert, strangerKey := other.leaf(t, nil, false, true)
	caFiles := map[string][]byte{"ca.pem": ca.pem}
	mtlsFiles := map[string][]byte{"ca.pem": ca.pem, "client.pem": clientCert, "client.key": clientKey,
		"stranger.pem": strangerCert, "stranger.key": strangerKey}

	for _, tc := range []struct {
		name    string
		cert    tls.Certificate
		mtls    bool // the server requires a client certificate from ca
		section string
		files   map[string][]byte
		args    []string
		code    int
		// sample is in stderr (preflight) or in the report's tls error
		// sample (--no-preflight).
		sample string
	}{
		{name: "ca_file verifies", cert: good, section: "tls: { ca_file: ca.pem }", files: caFiles, code: exitPassed},
		{name: "system roots do not know a private CA", cert: good, code: exitPreflightFailed,
			sample: "tls: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "unknown authority past preflight is class tls", cert: good, args: []string{"--no-preflight"},
			code: exitFailed, sample: "certificate signed by unknown authority"},
		{name: "insecure_skip_verify passes with a warning", cert: good, section: "tls: { insecure_skip_verify: true }",
			code: exitPassed},
		{name: "expired", cert: expired, section: "tls: { ca_file: ca.pem }", files: caFiles, code: exitPreflightFailed,
			sample: "certificate has expired"},
		{name: "expired past preflight", cert: expired, section: "tls: { ca_file: ca.pem }", files: caFiles,
			args: []string{"--no-preflight"}, code: exitFailed, sample: "certificate has expired"},
		{name: "hostname mismatch", cert: named, section: "tls: { ca_file: ca.pem }", files: caFiles,
			code: exitPreflightFailed, sample: "cannot validate certificate for 127.0.0.1"},
		{name: "server_name override", cert: named, section: "tls: { ca_file: ca.pem, server_name: api.internal }",
			files: caFiles, code: exitPassed},
		{name: "mTLS with a client certificate", cert: good, mtls: true, files: mtlsFiles,
			section: "tls: { ca_file: ca.pem, cert_file: client.pem, key_file: client.key, min_version: 1.3 }", code: exitPassed},
		// TLS 1.3 rejects a client certificate after the client's
		// handshake; preflight waits for that verdict.
		{name: "mTLS without a client certificate fails preflight", cert: good, mtls: true, files: mtlsFiles,
			section: "tls: { ca_file: ca.pem }", code: exitPreflightFailed, sample: "tls: remote error: tls: certificate required"},
		{name: "mTLS with a certificate of another CA fails preflight", cert: good, mtls: true, files: mtlsFiles,
			section: "tls: { ca_file: ca.pem, cert_file: stranger.pem, key_file: stranger.key }",
			code:    exitPreflightFailed, sample: "tls: remote error: tls:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var clientCA *testCA
			if tc.mtls {
				clientCA = ca
			}
			srv := newTLSTarget(t, tc.cert, clientCA, false)
			path := tlsScenario(t, srv.URL, tc.section, tc.files)
			r := run(t, append([]string{"run", path, "--quiet"}, tc.args...)...)
			r.expect(t, tc.code)
			rep := r.report
			switch tc.code {
			case exitPassed:
				if n := srv.h1.Load(); n != 10 {
					t.Fatalf("server saw %d requests, want 10", n)
				}
			case exitPreflightFailed:
				if srv.h1.Load() != 0 || !strings.Contains(r.stderr, tc.sample) {
					t.Fatalf("server saw %d requests; stderr:\n%s\nwant %q", srv.h1.Load(), r.stderr, tc.sample)
				}
			case exitFailed:
				errs, _ := rep["errors"].(map[string]any)
				samples, _ := rep["error_samples"].(map[string]any)
				if errs["tls"] != float64(10) || !strings.Contains(fmt.Sprint(samples["tls"]), tc.sample) {
					t.Fatalf("errors %v, samples %v; want 10 tls with %q", errs, samples, tc.sample)
				}
			}
			plan, _ := rep["plan"].(map[string]any)
			insecure := strings.Contains(tc.section, "insecure_skip_verify: true")
			warned := strings.Contains(fmt.Sprint(rep["warnings"]), "insecure_skip_verify")
			if insecure != (plan["tls_insecure"] == true) || insecure != warned ||
				insecure != strings.Contains(r.stderr, "WARNING: tls.insecure_skip_verify") {
				t.Fatalf("insecure %v: plan.tls_insecure %v, warnings %v, stderr:\n%s", insecure, plan["tls_insecure"], rep["warnings"], r.stderr)
			}
		})
	}
}

// TestHTTP2CLI: http.version 2 over TLS (ALPN h2, with a private CA) and
// h2c reach the server as HTTP/2 and report like HTTP/1.1 runs.
func TestHTTP2CLI(t *testing.T) {
	ca := newTestCA(t)
	cert, _, _ := ca.leaf(t, []string{"127.0.0.1"}, false, false)
	t.Run("h2", func(t *testing.T) {
		srv := newTLSTarget(t, cert, nil, true)
		path := tlsScenario(t, srv.URL, "tls: { ca_file: ca.pem }\nhttp: { version: 2 }", map[string][]byte{"ca.pem": ca.pem})
		r := run(t, "run", path, "--quiet")
		r.expect(t, exitPassed)
		if srv.h2.Load() != 10 || srv.h1.Load() != 0 {
			t.Fatalf("server saw h2 %d, h1 %d", srv.h2.Load(), srv.h1.Load())
		}
		checkH2Report(t, r, "2")
	})
	t.Run("h2c", func(t *testing.T) {
		var h2 atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 {
				h2.Add(1)
			}
		}))
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		srv.Config.Protocols = &p
		srv.Start()
		t.Cleanup(srv.Close)
		path := tlsScenario(t, srv.URL, "http: { version: h2c }", nil)
		r := run(t, "run", path, "--quiet")
		r.expect(t, exitPassed)
		if h2.Load() != 10 {
			t.Fatalf("server saw %d HTTP/2 requests", h2.Load())
		}
		checkH2Report(t, r, "h2c")
	})
}

func checkH2Report(t *testing.T, r result, version string) {
	t.Helper()
	plan, _ := r.report["plan"].(map[string]any)
	metrics, _ := r.report["metrics"].(map[string]any)
	if plan["http_version"] != version {
		t.Fatalf("plan.http_version = %v, want %s", plan["http_version"], version)
	}
	for _, m := range []string{"http_req_duration", "http_req_service_time", "http_reqs", "http_req_failed", "data_sent", "data_received"} {
		if _, ok := metrics[m]; !ok {
			t.Fatalf("metric %s missing from the report", m)
		}
	}
	if reqs, _ := metrics["http_reqs"].(map[string]any); reqs["count"] != float64(10) {
		t.Fatalf("http_reqs = %v", reqs)
	}
}
