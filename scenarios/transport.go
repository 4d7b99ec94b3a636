package scenarios

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

// This file decodes how loadgate talks to the targets: the tls section
// (verification, client certificates) and the http section (the protocol
// version). Both apply to every target of the scenario.

// TLSSpec is the tls section. Certificate files are read and checked while
// the scenario is parsed, so that a missing or malformed file is an error
// at its line, before anything is sent.
type TLSSpec struct {
	// InsecureSkipVerify turns certificate verification off. It is loud:
	// the CLI warns on stderr and the reports record it.
	InsecureSkipVerify bool
	CAFile             string // as written; relative to the scenario file
	CertFile, KeyFile  string // the client certificate (mutual TLS)
	ServerName         string // SNI and the name verified; "" is the URL's host
	MinVersion         uint16 // tls.VersionTLS12, ...; 0 is Go's default (TLS 1.2)

	options *engine.TLSOptions // the files' contents, for agents
	config  *tls.Config        // built from options (engine.TLSOptions.Config)
}

// HTTPSpec is the http section.
type HTTPSpec struct {
	Version engine.HTTPVersion

	versionNode *yaml.Node // nil when http.version is not given
}

// TLSConfig returns the client TLS configuration of the scenario's tls
// section, or nil without one (verify against the system roots). The
// caller gets its own copy.
func (s *Scenario) TLSConfig() *tls.Config {
	if s.spec == nil || s.spec.TLS == nil || s.spec.TLS.config == nil {
		return nil
	}
	return s.spec.TLS.config.Clone()
}

// TLSOptions returns the scenario's tls section as data (the certificate
// files' contents, read once when the scenario was parsed), for agents
// that cannot read the files; nil without a tls section.
func (s *Scenario) TLSOptions() *engine.TLSOptions {
	if s.spec == nil || s.spec.TLS == nil || s.spec.TLS.options == nil {
		return nil
	}
	o := *s.spec.TLS.options
	return &o
}

// TLSInsecure reports whether the scenario turns certificate verification
// off.
func (s *Scenario) TLSInsecure() bool {
	return s.spec != nil && s.spec.TLS != nil && s.spec.TLS.InsecureSkipVerify
}

var (
	tlsKeys  = []string{"insecure_skip_verify", "ca_file", "cert_file", "key_file", "server_name", "min_version"}
	httpKeys = []string{"version"}
	// tlsVersions are the values of tls.min_version.
	tlsVersions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}
	// httpVersions are the values of http.version.
	httpVersions = map[string]engine.HTTPVersion{"1.1": engine.HTTP1, "1": engine.HTTP1, "2": engine.HTTP2, "h2": engine.HTTP2, "h2c": engine.H2C}
)

func (d *decoder) tlsSection(n *yaml.Node, dir string) *TLSSpec {
	out := &TLSSpec{}
	fs := d.fields(n, "in tls", tlsKeys, nil)
	o := &engine.TLSOptions{}
	if f, ok := fs["insecure_skip_verify"]; ok {
		out.InsecureSkipVerify = d.boolean(f.val, "tls.insecure_skip_verify")
		o.InsecureSkipVerify = out.InsecureSkipVerify
	}
	if f, ok := fs["server_name"]; ok {
		if out.ServerName, ok = d.str(f.val, "tls.server_name"); ok && out.ServerName == "" {
			d.el.node(f.val, "tls.server_name must not be empty (leave it out to use the URL's host)")
		}
		o.ServerName = out.ServerName
	}
	if f, ok := fs["min_version"]; ok {
		if f.val.Kind != yaml.ScalarNode || tlsVersions[f.val.Value] == 0 {
			d.el.node(f.val, "tls.min_version must be 1.0, 1.1, 1.2 or 1.3, got %s", scalarText(f.val))
		} else {
			out.MinVersion = tlsVersions[f.val.Value]
			o.MinVersion = out.MinVersion
		}
	}
	if f, ok := fs["ca_file"]; ok {
		if path, ok := d.tlsFile(f.val, "tls.ca_file", dir, &out.CAFile); ok {
			o.CAPEM = d.caPEM(f.val, path)
		}
	}
	cert, hasCert := fs["cert_file"]
	key, hasKey := fs["key_file"]
	switch {
	case hasCert && !hasKey:
		d.el.node(cert.key, "tls.cert_file needs tls.key_file (the client certificate's private key)")
	case hasKey && !hasCert:
		d.el.node(key.key, "tls.key_file needs tls.cert_file (the client certificate)")
	case hasCert && hasKey:
		certPath, ok1 := d.tlsFile(cert.val, "tls.cert_file", dir, &out.CertFile)
		keyPath, ok2 := d.tlsFile(key.val, "tls.key_file", dir, &out.KeyFile)
		if ok1 && ok2 {
			o.CertPEM, o.KeyPEM = d.keyPair(cert.val, certPath, keyPath)
		}
	}
	cfg, err := o.Config()
	if err != nil {
		// The checks above report each problem at its key; this only
		// catches a gap between them and the builder.
		d.el.node(n, "%v", err)
		return out
	}
	out.options, out.config = o, cfg
	return out
}

// keyPair reads the client certificate and its key, checked as a pair;
// nil, nil after an error at n.
func (d *decoder) keyPair(n *yaml.Node, certPath, keyPath string) (certPEM, keyPEM []byte) {
	certPEM, err := os.ReadFile(certPath)
	if err == nil {
		if keyPEM, err = os.ReadFile(keyPath); err == nil {
			_, err = tls.X509KeyPair(certPEM, keyPEM)
		}
	}
	if err != nil {
		d.el.node(n, "tls.cert_file and tls.key_file: %v", unwrapPathError(err))
		return nil, nil
	}
	return certPEM, keyPEM
}

// tlsFile checks that n names a readable regular file, resolved against
// the scenario's directory, stores the name as written in *asWritten and
// returns the resolved path.
func (d *decoder) tlsFile(n *yaml.Node, what, dir string, asWritten *string) (string, bool) {
	file, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	*asWritten = file
	path := file
	if !filepath.IsAbs(file) {
		path = filepath.Join(dir, file)
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		d.el.node(n, "%s %s: %v", what, file, unwrapPathError(err))
		return "", false
	case !st.Mode().IsRegular():
		d.el.node(n, "%s %s is not a regular file", what, file)
		return "", false
	}
	return path, true
}

// caPEM reads the PEM certificates of a CA file, which replace the system
// roots; nil after an error at n.
func (d *decoder) caPEM(n *yaml.Node, path string) []byte {
	pem, err := os.ReadFile(path)
	if err != nil {
		d.el.node(n, "tls.ca_file %s: %v", n.Value, unwrapPathError(err))
		return nil
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		d.el.node(n, "tls.ca_file %s holds no PEM certificate", n.Value)
		return nil
	}
	return pem
}

func (d *decoder) httpSection(n *yaml.Node) HTTPSpec {
	var out HTTPSpec
	fs := d.fields(n, "in http", httpKeys, nil)
	if f, ok := fs["version"]; ok {
		v, known := httpVersions[f.val.Value]
		if f.val.Kind != yaml.ScalarNode || !known {
			d.el.node(f.val, "http.version must be 1.1, 2 (HTTP/2 over TLS) or h2c (HTTP/2 over cleartext), got %s", scalarText(f.val))
			return out
		}
		out.Version, out.versionNode = v, f.val
	}
	return out
}

// checkHTTPVersion sets the plan's protocol and checks that every target's
// scheme can carry it: HTTP/2 over TLS needs https, h2c needs http.
func checkHTTPVersion(el *errorList, h HTTPSpec, p *engine.Plan) {
	p.HTTPVersion = h.Version
	want := ""
	switch h.Version {
	case engine.HTTP2:
		want = "https"
	case engine.H2C:
		want = "http"
	default:
		return
	}
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			if st.URL == "" || st.Protocol != engine.ProtoHTTP || strings.HasPrefix(st.URL, want+"://") {
				continue
			}
			hint := "use h2c for cleartext HTTP/2"
			if want == "http" {
				hint = "use 2 for HTTP/2 over TLS"
			}
			// The URL is left out of the message: it may hold a secret.
			el.node(h.versionNode, "http.version %s needs %s:// targets, but flow %q step %q is not %s (%s)",
				h.versionNode.Value, want, f.Name, st.Name, want, hint)
			return
		}
	}
}

// scalarText quotes a scalar for an error message, or names what n is.
func scalarText(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	return quote(n.Value)
}
