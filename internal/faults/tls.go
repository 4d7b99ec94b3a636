package faults

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// TLSVariant is what is wrong with a TLS fault target.
type TLSVariant uint8

// TLS variants. Valid is the control: a certificate for 127.0.0.1 signed by
// the returned CA.
const (
	Valid       TLSVariant = iota
	SelfSigned             // signed by itself, not by the CA the client trusts
	WrongName              // signed by the CA, for another host name
	Expired                // signed by the CA, expired a day ago
	NoHandshake            // accepts TCP, never answers the ClientHello
)

func (v TLSVariant) String() string {
	return [...]string{"valid", "self-signed", "wrong name", "expired", "no handshake"}[v]
}

// NewTLS starts an https fault target of the given variant on 127.0.0.1,
// and returns the CA pool a client should trust (the variants fail against
// it for the reason in their name).
func NewTLS(v TLSVariant) (*Server, *x509.CertPool, error) {
	ca, caKey, err := newCert(nil, nil, "loadgate test CA", time.Now().Add(time.Hour), true)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	url := "https://" + ln.Addr().String()
	if v == NoHandshake {
		return serve(ln, url, false), pool, nil
	}
	var (
		parent, parentKey = ca, caKey
		name              = "127.0.0.1"
		notAfter          = time.Now().Add(time.Hour)
	)
	switch v {
	case SelfSigned:
		parent, parentKey = nil, nil
	case WrongName:
		name = "wrong.example"
	case Expired:
		notAfter = time.Now().Add(-24 * time.Hour)
	}
	leaf, key, err := newCert(parent, parentKey, name, notAfter, false)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}}}
	return serve(tls.NewListener(ln, cfg), url, true), pool, nil
}

// newCert makes a certificate for name (an IP or a DNS name), signed by
// parent, or by itself when parent is nil.
func newCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, notAfter time.Time, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notAfter.Add(-48 * time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else if !isCA {
		tmpl.DNSNames = []string{name}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("faults: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}
