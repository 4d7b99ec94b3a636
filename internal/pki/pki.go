// Package pki makes the certificates and the token of distributed mode: a
// private CA, a client certificate for the coordinator, server-and-client
// certificates for agents, and a random bearer token.
//
// It sits before any run: `loadgate certs` writes its output to files that
// `loadgate agent` (--tls-cert, --tls-key, --client-ca, --token-file) and
// `loadgate run --agents` (--tls-ca, --tls-cert, --tls-key, --token-file)
// read. Mutual TLS on the control channel (docs/distributed.md,
// Security model) needs nothing more than these files.
//
// Keys are ECDSA P-256, serials 128 random bits, and every certificate's
// NotBefore lies an hour in the past so that a host whose clock is a little
// behind accepts it. A CA is safe for concurrent use once made: Issue only
// reads it.
package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names of the files `loadgate certs` writes, as the agent and coordinator
// command lines and the Kubernetes manifests refer to them.
const (
	CAFile             = "ca.pem"
	CAKeyFile          = "ca-key.pem"
	CoordinatorFile    = "coordinator.pem"
	CoordinatorKeyFile = "coordinator-key.pem"
	AgentFile          = "agent.pem"
	AgentKeyFile       = "agent-key.pem"
	TokenFile          = "token"
)

// DefaultCoordinatorName is the common name of the coordinator's client
// certificate unless another is given.
const DefaultCoordinatorName = "loadgate-coordinator"

// clockSkew is how far in the past every certificate's validity starts.
const clockSkew = time.Hour

// MaxDays bounds a validity: more than a century is a typo.
const MaxDays = 36500

// CA is a certificate authority: its certificate and private key.
type CA struct {
	// Cert is the CA's certificate.
	Cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// NewCA makes a self-signed CA valid for days days that can sign leaf
// certificates only (path length 0).
func NewCA(days int) (*CA, error) {
	if err := checkDays(days); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "loadgate CA " + fmt.Sprintf("%032x", serial)[:8], Organization: []string{"loadgate"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return LoadCA(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM)
}

// LoadCA reads a CA from its PEM certificate and PEM private key (PKCS #8
// or SEC 1), as NewCA writes them, to issue more certificates later. It
// fails when the certificate is not a CA's, has expired, or does not belong
// to the key.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("pki: the CA certificate is not a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("pki: the certificate is not a CA's (IsCA and the cert-sign key usage)")
	}
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("pki: the CA expired on %s", cert.NotAfter.Format(time.DateOnly))
	}
	key, err := decodeKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("pki: the CA key does not belong to the CA certificate")
	}
	return &CA{Cert: cert, key: key, certPEM: bytes.Clone(certPEM), keyPEM: bytes.Clone(keyPEM)}, nil
}

// PEM returns the CA's certificate in PEM: what agents (--client-ca) and the
// coordinator (--tls-ca) trust.
func (ca *CA) PEM() []byte { return bytes.Clone(ca.certPEM) }

// KeyPEM returns the CA's private key in PEM. It signs certificates only:
// keep it off the agent and coordinator hosts.
func (ca *CA) KeyPEM() []byte { return bytes.Clone(ca.keyPEM) }

// Issue makes a leaf certificate with a new key, signed by the CA, valid
// for days days (cut at the CA's own expiry). cn is its common name; sans
// are its names: an IP literal becomes an IP SAN, anything else a DNS SAN,
// and a wildcard such as *.agents.example covers one label. server and
// client choose the extended key usages: an agent's certificate has both
// (it serves the coordinator), the coordinator's only client.
func (ca *CA) Issue(cn string, sans []string, server, client bool, days int) (certPEM, keyPEM []byte, err error) {
	if err := checkDays(days); err != nil {
		return nil, nil, err
	}
	if !server && !client {
		return nil, nil, errors.New("pki: a certificate for neither server nor client use")
	}
	if server && len(sans) == 0 {
		return nil, nil, errors.New("pki: a server certificate needs at least one name")
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"loadgate"}},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, s := range sans {
		if err := CheckName(s); err != nil {
			return nil, nil, err
		}
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(strings.TrimSuffix(s, ".")))
		}
	}
	now := time.Now()
	tmpl.NotBefore = now.Add(-clockSkew)
	tmpl.NotAfter = now.AddDate(0, 0, days)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter // a leaf cannot outlive its CA
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: certificate for %s: %w", cn, err)
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// CheckName reports whether s can be a certificate name: an IP literal, or
// a DNS name of letters, digits, hyphens and dots whose first label may be
// the wildcard "*". A host:port or a URL is refused with a hint.
func CheckName(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	switch {
	case s == "":
		return errors.New("pki: an empty name")
	case strings.Contains(s, "://") || strings.Contains(s, "/"):
		return fmt.Errorf("pki: name %q: want a host name or IP, not a URL", s)
	case strings.Contains(s, ":"):
		return fmt.Errorf("pki: name %q: want a host name or IP without a port", s)
	case len(s) > 253:
		return fmt.Errorf("pki: name %q is longer than 253 characters", s)
	}
	for i, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if i == 0 && label == "*" {
			if !strings.Contains(s, ".") {
				return fmt.Errorf("pki: name %q: a wildcard needs a domain after it (*.example)", s)
			}
			continue
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("pki: name %q: label %q is not a valid DNS label", s, label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("pki: name %q: %q is not allowed in a DNS name (a wildcard is the whole first label only)", s, r)
			}
		}
	}
	return nil
}

// NewToken returns a bearer token: 32 random bytes (256 bits) from
// crypto/rand, hex-encoded to 64 characters.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pki: token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// File is one file to write: its name in the directory, its content and
// its permissions (0600 for keys and the token, 0644 for certificates).
type File struct {
	Name string
	Data []byte
	Mode os.FileMode
}

// ExistsError is WriteFiles' refusal to replace a file without force.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s exists; it is not replaced without --force", e.Path)
}

// WriteFiles writes files into dir, which it creates with mode 0700 if
// missing. Without force it first checks that none of them exists, and
// refuses with an *ExistsError naming the first that does before writing
// anything; each file is created with its final mode (never readable by
// others for a moment) and appears whole, under its name, or not at all.
func WriteFiles(dir string, files []File, force bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !force {
		for _, f := range files {
			p := filepath.Join(dir, f.Name)
			if _, err := os.Lstat(p); err == nil {
				return &ExistsError{Path: p}
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.Name), f.Data, f.Mode, force); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes a temporary file (created 0600, then given mode) and
// moves it to path: by rename when replacing is allowed, else by link,
// which fails if path appeared meanwhile.
func writeFile(path string, data []byte, mode os.FileMode, replace bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if replace {
		return os.Rename(tmp.Name(), path)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return &ExistsError{Path: path}
		}
		return err
	}
	return nil
}

func checkDays(days int) error {
	if days < 1 || days > MaxDays {
		return fmt.Errorf("pki: a validity of %d days: want 1 to %d", days, MaxDays)
	}
	return nil
}

// newSerial returns a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("pki: serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func decodeKey(keyPEM []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("pki: the CA key is not PEM")
	}
	switch b.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: CA key: %w", err)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("pki: the CA key is a %T, want ECDSA", k)
		}
		return ec, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: CA key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("pki: the CA key is a PEM %q block, want PRIVATE KEY", b.Type)
}
