package engine

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// TLSOptions are a scenario's client TLS settings as data: certificate
// contents, never paths, so that the coordinator's scenario and an agent
// that cannot read its files build the same configuration
// (docs/scenario-reference.md, tls; docs/distributed.md). Config is the
// one builder of the targets' tls.Config, for local runs and agents.
type TLSOptions struct {
	CAPEM, CertPEM, KeyPEM []byte
	ServerName             string
	InsecureSkipVerify     bool
	MinVersion             uint16 // tls.VersionTLS12, ...; 0 is Go's default
}

// Config builds the client TLS configuration of the engine's HTTP clients
// (Engine.TLS). A nil o gives a nil configuration (verification with the
// system roots).
func (o *TLSOptions) Config() (*tls.Config, error) {
	if o == nil {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: o.ServerName, InsecureSkipVerify: o.InsecureSkipVerify, MinVersion: o.MinVersion}
	if v := o.MinVersion; v != 0 && (v < tls.VersionTLS10 || v > tls.VersionTLS13) {
		return nil, fmt.Errorf("tls: unknown min_version 0x%04x", v)
	}
	if len(o.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CAPEM) {
			return nil, errors.New("tls: ca_file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if len(o.CertPEM) > 0 || len(o.KeyPEM) > 0 {
		pair, err := tls.X509KeyPair(o.CertPEM, o.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
