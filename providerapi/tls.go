package providerapi

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// HTTPClient is the HTTP client for providers' APIs: it verifies their
// certificates against the system's roots and, when caFile is not empty,
// the CA certificates (PEM) in it as well (a private network's CA, such as
// the localnet's).
//
// It speaks HTTP/1.1 over TLS, one connection per transfer in flight (ADR
// 014): the data plane moves a few large bodies per provider at a time,
// where HTTP/2's framing and flow control cost CPU and buy nothing (a
// 1 GiB get took 4.1 s over HTTP/1.1 against 5.0 s over HTTP/2, with a
// fifth less CPU), and what is buffered ahead of a slow reader stays in
// the kernel's socket buffers instead of the process's heap.
func HTTPClient(caFile string) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading the providers' CA: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate: give the CA certificate that signed the providers' certificates", caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	tr.Protocols = &protocols
	tr.ForceAttemptHTTP2 = false
	// Parallel ranges of one get reuse their connections.
	tr.MaxIdleConnsPerHost = 8
	// Wait for 100-continue so a refused upload costs no body bytes.
	tr.ExpectContinueTimeout = 5 * time.Second
	return &http.Client{Transport: tr}, nil
}

// ServerTLSConfig is the TLS configuration a provider serves its API with.
func ServerTLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
}
