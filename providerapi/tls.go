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
// the localnet's). HTTP/2 is used where the provider offers it.
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
	tr.ForceAttemptHTTP2 = true
	// Bound what HTTP/2 buffers ahead of a slow reader (the defaults allow
	// up to 1 GiB a connection): a client's memory must not grow with the
	// file it downloads.
	tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerConnection: 16 << 20, MaxReceiveBufferPerStream: 4 << 20}
	// Wait for 100-continue so a refused upload costs no body bytes.
	tr.ExpectContinueTimeout = 5 * time.Second
	return &http.Client{Transport: tr}, nil
}

// ServerTLSConfig is the TLS configuration a provider serves its API with.
func ServerTLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
}
