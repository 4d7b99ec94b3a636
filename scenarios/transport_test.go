package scenarios

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// writeCertFiles writes a self-signed CA (ca.pem) and a client
// certificate signed by it (client.pem, client-key.pem) into dir.
func writeCertFiles(t *testing.T, dir string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	for name, b := range map[string]*pem.Block{
		"ca.pem":         {Type: "CERTIFICATE", Bytes: caDER},
		"client.pem":     {Type: "CERTIFICATE", Bytes: der},
		"client-key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const transportFlows = "load: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps:\n      - { name: s, get: / }\n"

func TestTLSSection(t *testing.T) {
	dir := t.TempDir()
	writeCertFiles(t, dir)
	src := "name: t\nbase_url: https://127.0.0.1:8443\n" + transportFlows + `tls:
  ca_file: ca.pem            # relative to the scenario file
  cert_file: client.pem
  key_file: client-key.pem
  server_name: api.internal
  min_version: 1.3
`
	sc, err := Parse(filepath.Join(dir, "s.yaml"), []byte(src), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg := sc.TLSConfig()
	switch {
	case cfg == nil:
		t.Fatal("no TLS config")
	case cfg.RootCAs == nil || len(cfg.Certificates) != 1:
		t.Fatalf("roots %v, %d client certificates", cfg.RootCAs != nil, len(cfg.Certificates))
	case cfg.ServerName != "api.internal" || cfg.MinVersion != tls.VersionTLS13 || cfg.InsecureSkipVerify:
		t.Fatalf("server name %q, min version %x, insecure %v", cfg.ServerName, cfg.MinVersion, cfg.InsecureSkipVerify)
	case sc.TLSInsecure():
		t.Fatal("TLSInsecure without insecure_skip_verify")
	}
	if sc.TLSConfig() == cfg {
		t.Fatal("TLSConfig must return a copy")
	}

	sc, err = Parse("s.yaml", []byte("name: t\nbase_url: https://h\n"+transportFlows+"tls: { insecure_skip_verify: true }\n"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !sc.TLSInsecure() || !sc.TLSConfig().InsecureSkipVerify {
		t.Fatal("insecure_skip_verify not applied")
	}
	sc, err = Parse("s.yaml", []byte("name: t\nbase_url: https://h\n"+transportFlows), testEnv(nil))
	if err != nil || sc.TLSConfig() != nil || sc.TLSInsecure() {
		t.Fatalf("no tls section: err %v, config %v", err, sc.TLSConfig())
	}
}

func TestHTTPSection(t *testing.T) {
	for _, tc := range []struct {
		version, base string
		want          engine.HTTPVersion
	}{
		{"1.1", "http://h", engine.HTTP1},
		{"2", "https://h", engine.HTTP2},
		{`"2"`, "https://h", engine.HTTP2},
		{"h2", "https://h", engine.HTTP2},
		{"h2c", "http://h", engine.H2C},
	} {
		src := "name: t\nbase_url: " + tc.base + "\n" + transportFlows + "http: { version: " + tc.version + " }\n"
		sc, err := Parse("s.yaml", []byte(src), testEnv(nil))
		if err != nil {
			t.Fatalf("version %s: %v", tc.version, err)
		}
		if sc.Plan.HTTPVersion != tc.want {
			t.Fatalf("version %s: plan has %v", tc.version, sc.Plan.HTTPVersion)
		}
	}
}

// TestTransportErrors: every mistake in tls and http is reported at its
// position, all at once.
func TestTransportErrors(t *testing.T) {
	dir := t.TempDir()
	writeCertFiles(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, section, base string
		want                []string
	}{
		{"missing CA file", "tls: { ca_file: nope.pem }", "https://h",
			[]string{"s.yaml:8:17: tls.ca_file nope.pem: no such file or directory"}},
		{"CA file without PEM", "tls: { ca_file: junk.pem }", "https://h",
			[]string{"s.yaml:8:17: tls.ca_file junk.pem holds no PEM certificate"}},
		{"certificate without key", "tls: { cert_file: client.pem }", "https://h",
			[]string{"s.yaml:8:8: tls.cert_file needs tls.key_file"}},
		{"key that does not match", "tls: { cert_file: client.pem, key_file: ca.pem }", "https://h",
			[]string{"s.yaml:8:19: tls.cert_file and tls.key_file:"}},
		{"bad min_version", "tls: { min_version: 1.4, insecure_skip_verify: yes }", "https://h",
			[]string{`s.yaml:8:21: tls.min_version must be 1.0, 1.1, 1.2 or 1.3, got "1.4"`,
				`s.yaml:8:48: expected true or false for tls.insecure_skip_verify, got "yes"`}},
		{"typo", "tls: { insecure_skip_verfy: true }", "https://h",
			[]string{`s.yaml:8:8: unknown key "insecure_skip_verfy" in tls; did you mean "insecure_skip_verify"?`}},
		{"bad http version", "http: { version: 3 }", "https://h",
			[]string{`s.yaml:8:18: http.version must be 1.1, 2 (HTTP/2 over TLS) or h2c (HTTP/2 over cleartext), got "3"`}},
		{"h2 on cleartext", "http: { version: 2 }", "http://h",
			[]string{`s.yaml:8:18: http.version 2 needs https:// targets, but flow "f" step "s" is not https (use h2c for cleartext HTTP/2)`}},
		{"h2c on TLS", "http: { version: h2c }", "https://h",
			[]string{`s.yaml:8:18: http.version h2c needs http:// targets`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: t\nbase_url: " + tc.base + "\n" + transportFlows + tc.section + "\n"
			_, err := Parse(filepath.Join(dir, "s.yaml"), []byte(src), testEnv(nil))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			lines := strings.Split(got, "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("errors:\n%s\nwant %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, lines[i], w)
				}
			}
		})
	}
}
